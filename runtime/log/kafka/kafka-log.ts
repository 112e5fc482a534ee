/**
 * The Kafka back-end of the event log port, on kafkajs.
 *
 * `KafkaLog` composes the three sides kafkajs has:
 *
 * - `append` is the producer side (`kafka-producer.ts`): one idempotent
 *   producer (`acks=all`, one request in flight per broker), partitions
 *   chosen with `partitionForKey` (Kafka's murmur2 partitioner) so keys land
 *   where the embedded log puts them.
 * - Topics, partition counts and offsets are the admin side
 *   (`topic-admin.ts`).
 * - Consumers are kafkajs group members with a fixed assignment; see
 *   `group-member.ts`, `consumer.ts` and `commit-member.ts`.
 * - `read` keeps one cached reader (a consumer of its own group) per
 *   partition: the first read of a partition pays a group join (the broker's
 *   `group.initial.rebalance.delay.ms`, 3 s by default, 0 in development
 *   setups), sequential reads after it are served from the reader's buffer,
 *   and a reader idle for `readerIdleMs` is closed.
 *
 * @example
 * ```ts
 * const log = new KafkaLog({ brokers: ['kafka-1:9092', 'kafka-2:9092'], clientId: 'recstream-process' });
 * await log.ensureTopic({ name: 'rec.items', partitions: 4, compacted: true });
 * const [ack] = await log.append('rec.items', [{ key: 'i1', value: bytes }]);
 * const consumer = await log.consumer({ topics: ['rec.items'], group: 'catalog' });
 * const records = await consumer.poll({ maxRecords: 500, timeoutMs: 1000 });
 * await consumer.commit();
 * await log.close();
 * ```
 */
import kafkajs, { type Kafka, type RetryOptions } from 'kafkajs';
import { ConfigError, LogUsageError, OffsetOutOfRangeError, TopicError } from '../../errors.js';
import type {
  AppendAck,
  ConsumerOptions,
  EventLog,
  LogConsumer,
  LogRecord,
  OutgoingRecord,
  PartitionOffsets,
  TopicInfo,
  TopicPartitionOffset,
  TopicSpec,
} from '../log.js';
import { CommitMember } from './commit-member.js';
import { KafkaLogConsumer } from './consumer.js';
import { brokerErrorType, kafkaError } from './errors.js';
import type { ConsumerHost, ConsumerSettings, GroupMember } from './group-member.js';
import { KafkaProducer } from './kafka-producer.js';
import { type KafkaLogLogger, kafkajsLogCreator, stderrLogger } from './logging.js';
import { ReaderPool } from './reader-pool.js';
import { TopicAdmin } from './topic-admin.js';

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** Client id the brokers see (quotas, logs). Default `recstream`. */
  readonly clientId?: string;
  /** Default: warnings and errors as JSON on stderr. */
  readonly logger?: KafkaLogLogger;
  /**
   * kafkajs retry policy of every request. Default: kafkajs' (5 retries,
   * backing off from 300 ms), about 10 s before an unreachable broker becomes
   * a `ConnectionError`.
   */
  readonly retry?: RetryOptions;
  /** TCP connect timeout per broker. Default 3000 ms. */
  readonly connectionTimeoutMs?: number;
  /** Broker request timeout, also the produce timeout. Default 30000 ms. */
  readonly requestTimeoutMs?: number;
  /**
   * Idempotent producer (default true): the broker drops a retried batch it
   * already wrote, so a retry never duplicates or reorders. Turn it off only
   * for brokers whose idempotence check is broken (go-mokapi 0.52 rejects every
   * multi-record batch after a producer's first with OUT_OF_ORDER_SEQUENCE_NUMBER);
   * appends then keep their order (one request in flight) but a retried
   * request may write its records twice.
   */
  readonly idempotent?: boolean;
  /**
   * Largest produce request an append sends (Kafka's producer
   * `max.request.size`, default 1 MiB). A larger append is written in
   * several requests, one after another: each is atomic per partition, the
   * append as a whole is not. One record larger than this travels alone.
   */
  readonly maxRequestBytes?: number;
  /** SASL authentication (kafkajs' `sasl`); unset: none. */
  readonly sasl?: KafkaSasl;
  /**
   * TLS to the brokers: `true` verifies their certificates against the
   * system's CAs, `{ ca }` against these PEM certificates. Unset: plain TCP.
   */
  readonly tls?: true | { readonly ca: string };
  /** Replication factor of topics `ensureTopic` creates. Default: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number;
  /** How long topic partition counts are cached for appends. Default 30000 ms. */
  readonly metadataMaxAgeMs?: number;
  /** A cached `read` reader idle this long is closed. Default 30000 ms. */
  readonly readerIdleMs?: number;
  /** Upper bound on one `read` call waiting for records the broker says exist. Default 30000 ms. */
  readonly readTimeoutMs?: number;
  readonly consumer?: Partial<ConsumerSettings>;
}

/** SASL mechanisms kafkajs speaks without plug-ins, and the credentials they take. */
export interface KafkaSasl {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

const DEFAULT_CONSUMER: ConsumerSettings = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  fetchMaxWaitMs: 100,
  bufferRecords: 10_000,
  joinTimeoutMs: 60_000,
  closeTimeoutMs: 10_000,
};

function positiveOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(`KafkaLog option ${name} must be a positive number, got ${value}`);
  return value;
}

/** An `EventLog` on a Kafka cluster. Selected when `RECSTREAM_KAFKA_BROKERS` is set. */
export class KafkaLog implements EventLog {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly logger: KafkaLogLogger;
  private readonly host: ConsumerHost;
  private readonly topicAdmin: TopicAdmin;
  private readonly producerSide: KafkaProducer;
  private readonly consumers = new Set<GroupMember>();
  private readonly readers: ReaderPool;
  private closed = false;

  constructor(options: KafkaLogOptions) {
    if (
      !Array.isArray(options.brokers) ||
      options.brokers.length === 0 ||
      options.brokers.some((b) => typeof b !== 'string' || !b.includes(':'))
    ) {
      throw new ConfigError(
        `KafkaLog needs brokers as host:port (RECSTREAM_KAFKA_BROKERS), got ${JSON.stringify(options.brokers)}`,
      );
    }
    this.logger = options.logger ?? stderrLogger;
    const requestTimeoutMs = positiveOption('requestTimeoutMs', options.requestTimeoutMs, 30_000);
    if (
      options.replicationFactor !== undefined &&
      !(Number.isInteger(options.replicationFactor) && options.replicationFactor > 0)
    ) {
      throw new ConfigError(
        `KafkaLog option replicationFactor must be a positive integer, got ${options.replicationFactor}`,
      );
    }
    const maxRequestBytes = positiveOption('maxRequestBytes', options.maxRequestBytes, 1_048_576);
    const settings: ConsumerSettings = { ...DEFAULT_CONSUMER };
    for (const [name, value] of Object.entries(options.consumer ?? {}) as [
      keyof ConsumerSettings,
      number | undefined,
    ][]) {
      (settings as Record<keyof ConsumerSettings, number>)[name] = positiveOption(
        `consumer.${name}`,
        value,
        DEFAULT_CONSUMER[name],
      );
    }
    this.kafka = new kafkajs.Kafka({
      brokers: [...options.brokers],
      clientId: options.clientId ?? 'recstream',
      connectionTimeout: positiveOption('connectionTimeoutMs', options.connectionTimeoutMs, 3_000),
      requestTimeout: requestTimeoutMs,
      retry: options.retry,
      ...(options.sasl === undefined ? {} : { sasl: { ...options.sasl } as kafkajs.SASLOptions }),
      ...(options.tls === undefined ? {} : { ssl: options.tls === true ? true : { ca: [options.tls.ca] } }),
      logLevel: kafkajs.logLevel.INFO,
      logCreator: kafkajsLogCreator(this.logger),
    });
    this.topicAdmin = new TopicAdmin({
      kafka: this.kafka,
      logger: this.logger,
      requestTimeoutMs,
      metadataMaxAgeMs: positiveOption('metadataMaxAgeMs', options.metadataMaxAgeMs, 30_000),
      replicationFactor: options.replicationFactor,
      assertOpen: () => this.assertOpen(),
    });
    this.producerSide = new KafkaProducer({
      kafka: this.kafka,
      requestTimeoutMs,
      idempotent: options.idempotent ?? true,
      maxRequestBytes,
      partitionCount: (topic) => this.topicAdmin.partitionCount(topic),
      assertOpen: () => this.assertOpen(),
    });
    this.host = {
      kafka: this.kafka,
      retry: options.retry,
      logger: this.logger,
      settings,
      partitionCount: (topic) => this.topicAdmin.partitionCount(topic),
      offsets: (topic) => this.offsets(topic),
      offsetForTimestamp: (topic, partition, timestamp) =>
        this.offsetForTimestamp(topic, partition, timestamp),
      assertOpen: () => this.assertOpen(),
      closed: (consumer) => {
        this.consumers.delete(consumer);
      },
    };
    this.readers = new ReaderPool(
      this.host,
      positiveOption('readerIdleMs', options.readerIdleMs, 30_000),
      positiveOption('readTimeoutMs', options.readTimeoutMs, 30_000),
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new LogUsageError('the Kafka log is closed');
  }

  async ensureTopic(spec: TopicSpec): Promise<TopicInfo> {
    return this.topicAdmin.ensureTopic(spec);
  }

  async topics(): Promise<TopicInfo[]> {
    return this.topicAdmin.topics();
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    // A topic re-created under the same name must not meet what was cached of the old one.
    for (const topic of await this.topicAdmin.deleteTopics(names)) {
      this.producerSide.forget(topic);
      this.readers.forget(topic);
    }
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    this.assertOpen();
    const [info] = await this.topicAdmin.infos([name]);
    return info;
  }

  async append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]> {
    return this.producerSide.append(topic, records);
  }

  offsets(topic: string): Promise<PartitionOffsets[]> {
    return this.topicAdmin.offsets(topic);
  }

  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    return this.topicAdmin.offsetForTimestamp(topic, partition, timestamp);
  }

  /**
   * Reads up to `maxRecords` records from `offset` with the partition's cached
   * reader. The end offset is fetched first, so a read at the end returns []
   * without waiting, and a read stops at the end it saw.
   */
  async read(topic: string, partition: number, offset: number, maxRecords: number): Promise<LogRecord[]> {
    await this.topicAdmin.checkPartition(topic, partition);
    const range = (await this.offsets(topic)).find((o) => o.partition === partition);
    if (!range)
      throw new TopicError(
        `partition ${partition} of ${topic} is missing from the broker's answer`,
        'UNKNOWN_PARTITION',
      );
    if (!Number.isSafeInteger(offset) || offset < range.start || offset > range.end) {
      throw new OffsetOutOfRangeError(
        `${topic}-${partition}: offset ${offset} is outside [${range.start}, ${range.end}]`,
      );
    }
    if (maxRecords <= 0 || offset === range.end) return [];
    return this.readers.read(topic, partition, offset, maxRecords, range.end);
  }

  async consumer(options: ConsumerOptions): Promise<LogConsumer> {
    const consumer = await KafkaLogConsumer.open(this.host, options);
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Commits offsets for `group` by joining it briefly as a member holding the
   * partitions (what kafkajs' `admin.setOffsets` and Kafka's own tooling do):
   * active members of the group rebalance once when it joins and leaves.
   */
  async commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    if (offsets.length === 0) return;
    const member = await CommitMember.open(this.host, group, offsets);
    try {
      await member.commit(offsets);
    } finally {
      await member.close();
    }
  }

  /**
   * The group's committed offsets through the admin API. Brokers that answer
   * OffsetFetch only to group members (UNKNOWN_MEMBER_ID, seen on mock
   * brokers) are asked again from a short-lived member of the group.
   */
  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    const n = await this.topicAdmin.partitionCount(topic);
    const admin = await this.topicAdmin.admin();
    const out = new Map<number, number>();
    try {
      const [answer] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      for (const { partition, offset } of answer?.partitions ?? []) {
        const o = Number(offset);
        if (o >= 0) out.set(partition, o);
      }
    } catch (err) {
      if (brokerErrorType(err) !== 'UNKNOWN_MEMBER_ID')
        throw kafkaError(err, `read committed offsets of group ${group} on ${topic}`);
      const member = await CommitMember.open(
        this.host,
        group,
        Array.from({ length: n }, (_, partition) => ({ topic, partition })),
      );
      try {
        for (const c of await member.committed()) out.set(c.partition, c.offset);
      } finally {
        await member.close();
      }
    }
    return new Map([...out].sort((a, b) => a[0] - b[0]));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...[...this.consumers].map((c) => c.close()), this.readers.close()]);
    this.consumers.clear();
    this.closed = true;
    await Promise.allSettled([this.producerSide.close(), this.topicAdmin.close()]);
  }
}
