/**
 * The Kafka back-end of the event log port, on kafkajs.
 *
 * - Appends go through one idempotent producer (`acks=all`, one request in
 *   flight per broker), so a retried request never duplicates or reorders
 *   records; a call's records for one partition travel as one record batch. Partitions are chosen here with `partitionForKey` (Kafka's
 *   murmur2 partitioner), so keys land where the embedded log puts them and
 *   each ack can count its records.
 * - Topic management and offsets use the admin client.
 * - Consumers are kafkajs group members with a fixed assignment; see
 *   `consumer.ts`.
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
import kafkajs, { type Admin, type Kafka, type Message, type Producer, type RetryOptions } from 'kafkajs';
import {
  ConfigError,
  ConnectionError,
  LogUsageError,
  OffsetOutOfRangeError,
  TopicError,
} from '../../errors.js';
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
import { partitionForKey } from '../partitioner.js';
import { type ConsumerHost, type ConsumerSettings, KafkaLogConsumer } from './consumer.js';
import { brokerErrorType, isUnsupportedApi, kafkaError } from './errors.js';
import { type KafkaLogLogger, kafkajsLogCreator, stderrLogger } from './logging.js';
import { ReaderPool } from './reader-pool.js';
import { requestChunks } from './request-chunks.js';

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

/** Topic configs that say "keep forever": the port's default, not Kafka's 7 days. */
const FOREVER = '-1';

interface CachedCount {
  readonly partitions: number;
  readonly at: number;
}

function positiveOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(`KafkaLog option ${name} must be a positive number, got ${value}`);
  return value;
}

function validateSpec(spec: TopicSpec): void {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(spec.name)) {
    throw new TopicError(`invalid topic name ${JSON.stringify(spec.name)}: use 1-249 of [a-zA-Z0-9._-]`);
  }
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
    throw new TopicError(`topic ${spec.name}: partitions must be a positive integer, got ${spec.partitions}`);
  }
  for (const field of ['retentionMs', 'retentionBytes'] as const) {
    const v = spec[field];
    if (v !== undefined && !(Number.isFinite(v) && v > 0))
      throw new TopicError(`topic ${spec.name}: ${field} must be a positive number, got ${v}`);
  }
}

/** An `EventLog` on a Kafka cluster. Selected when `RECSTREAM_KAFKA_BROKERS` is set. */
export class KafkaLog implements EventLog {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly logger: KafkaLogLogger;
  private readonly requestTimeoutMs: number;
  private readonly replicationFactor: number | undefined;
  private readonly idempotent: boolean;
  private readonly maxRequestBytes: number;
  private readonly metadataMaxAgeMs: number;
  private readonly host: ConsumerHost;
  private adminClient: Promise<Admin> | undefined;
  private producerClient: Promise<Producer> | undefined;
  private readonly counts = new Map<string, CachedCount>();
  private readonly roundRobin = new Map<string, number>();
  /**
   * Compaction this client asked `ensureTopic` for, per topic. Used only when
   * the broker cannot describe topic configs (mock brokers without
   * DescribeConfigs); a real broker's `cleanup.policy` always wins.
   */
  private readonly requestedCompaction = new Map<string, boolean>();
  private describeConfigsSupported = true;
  private readonly consumers = new Set<KafkaLogConsumer>();
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
    this.requestTimeoutMs = positiveOption('requestTimeoutMs', options.requestTimeoutMs, 30_000);
    this.metadataMaxAgeMs = positiveOption('metadataMaxAgeMs', options.metadataMaxAgeMs, 30_000);
    if (
      options.replicationFactor !== undefined &&
      !(Number.isInteger(options.replicationFactor) && options.replicationFactor > 0)
    ) {
      throw new ConfigError(
        `KafkaLog option replicationFactor must be a positive integer, got ${options.replicationFactor}`,
      );
    }
    this.replicationFactor = options.replicationFactor;
    this.idempotent = options.idempotent ?? true;
    this.maxRequestBytes = positiveOption('maxRequestBytes', options.maxRequestBytes, 1_048_576);
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
      requestTimeout: this.requestTimeoutMs,
      retry: options.retry,
      ...(options.sasl === undefined ? {} : { sasl: { ...options.sasl } as kafkajs.SASLOptions }),
      ...(options.tls === undefined ? {} : { ssl: options.tls === true ? true : { ca: [options.tls.ca] } }),
      logLevel: kafkajs.logLevel.INFO,
      logCreator: kafkajsLogCreator(this.logger),
    });
    this.host = {
      kafka: this.kafka,
      logger: this.logger,
      settings,
      partitionCount: (topic) => this.partitionCount(topic),
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

  private admin(): Promise<Admin> {
    this.assertOpen();
    if (!this.adminClient) {
      const admin = this.kafka.admin();
      this.adminClient = admin.connect().then(
        () => admin,
        (err: unknown) => {
          this.adminClient = undefined;
          throw kafkaError(err, 'connect the Kafka admin client');
        },
      );
    }
    return this.adminClient;
  }

  private producer(): Promise<Producer> {
    this.assertOpen();
    if (!this.producerClient) {
      const producer = this.kafka.producer({
        idempotent: this.idempotent,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      });
      this.producerClient = producer.connect().then(
        () => producer,
        (err: unknown) => {
          this.producerClient = undefined;
          throw kafkaError(err, 'connect the Kafka producer');
        },
      );
    }
    return this.producerClient;
  }

  /** Runs an admin call, mapping its errors; `what` names the operation in messages. */
  private async withAdmin<T>(what: string, call: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = await this.admin();
    try {
      return await call(admin);
    } catch (err) {
      throw kafkaError(err, what);
    }
  }

  /**
   * Partition counts of existing topics. Listing topics first keeps a missing
   * topic a quick answer: a metadata request naming it would be retried by
   * kafkajs for seconds.
   */
  private async describeCounts(names: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const existing = new Set(await this.withAdmin('list topics', (admin) => admin.listTopics()));
    const wanted = names.filter((n) => existing.has(n));
    if (wanted.length === 0) return out;
    const meta = await this.withAdmin(`describe topics ${wanted.join(', ')}`, (admin) =>
      admin.fetchTopicMetadata({ topics: wanted }),
    );
    const now = Date.now();
    for (const t of meta.topics) {
      out.set(t.name, t.partitions.length);
      this.counts.set(t.name, { partitions: t.partitions.length, at: now });
    }
    return out;
  }

  private async partitionCount(topic: string): Promise<number> {
    this.assertOpen();
    const cached = this.counts.get(topic);
    if (cached && Date.now() - cached.at < this.metadataMaxAgeMs) return cached.partitions;
    const n = (await this.describeCounts([topic])).get(topic);
    if (n === undefined) {
      this.counts.delete(topic);
      throw new TopicError(
        `topic ${topic} does not exist on the Kafka cluster; create it with ensureTopic`,
        'UNKNOWN_TOPIC',
      );
    }
    return n;
  }

  /** `cleanup.policy` contains `compact`, per topic; see `requestedCompaction` for brokers that cannot say. */
  private async compaction(names: readonly string[]): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    if (names.length > 0 && this.describeConfigsSupported) {
      const admin = await this.admin();
      try {
        const res = await admin.describeConfigs({
          resources: names.map((name) => ({
            type: kafkajs.ConfigResourceTypes.TOPIC,
            name,
            configNames: ['cleanup.policy'],
          })),
          includeSynonyms: false,
        });
        for (const r of res.resources) {
          const policy =
            r.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? 'delete';
          out.set(r.resourceName, policy.split(',').includes('compact'));
        }
        return out;
      } catch (err) {
        if (!isUnsupportedApi(err)) throw kafkaError(err, `describe configs of ${names.join(', ')}`);
        this.describeConfigsSupported = false;
        this.logger.warn(
          {},
          'the Kafka broker does not support DescribeConfigs; topic compaction is reported as requested by ensureTopic',
        );
      }
    }
    for (const name of names) out.set(name, this.requestedCompaction.get(name) ?? false);
    return out;
  }

  private async infos(names: readonly string[]): Promise<TopicInfo[]> {
    const counts = await this.describeCounts(names);
    const compacted = await this.compaction([...counts.keys()]);
    return [...counts].map(([name, partitions]) => ({
      name,
      partitions,
      compacted: compacted.get(name) ?? false,
    }));
  }

  async ensureTopic(spec: TopicSpec): Promise<TopicInfo> {
    this.assertOpen();
    validateSpec(spec);
    const compacted = spec.compacted ?? false;
    let [existing] = await this.infos([spec.name]);
    if (!existing) {
      const configEntries = [
        { name: 'cleanup.policy', value: compacted ? 'compact' : 'delete' },
        {
          name: 'retention.ms',
          value: spec.retentionMs === undefined ? FOREVER : String(Math.round(spec.retentionMs)),
        },
        {
          name: 'retention.bytes',
          value: spec.retentionBytes === undefined ? FOREVER : String(Math.round(spec.retentionBytes)),
        },
      ];
      await this.withAdmin(`create topic ${spec.name}`, (admin) =>
        admin.createTopics({
          topics: [
            {
              topic: spec.name,
              numPartitions: spec.partitions,
              replicationFactor: this.replicationFactor,
              configEntries,
            },
          ],
          waitForLeaders: true,
          timeout: this.requestTimeoutMs,
        }),
      );
      this.requestedCompaction.set(spec.name, compacted);
      // A concurrent creator may have won the race with other settings; describe what exists now.
      [existing] = await this.infos([spec.name]);
      if (!existing)
        throw new TopicError(
          `topic ${spec.name} was created but the cluster does not list it yet`,
          'UNKNOWN_TOPIC',
        );
    } else if (!this.requestedCompaction.has(spec.name)) {
      this.requestedCompaction.set(spec.name, compacted);
      if (!this.describeConfigsSupported) existing = { ...existing, compacted };
    }
    if (existing.partitions !== spec.partitions || existing.compacted !== compacted) {
      throw new TopicError(
        `topic ${spec.name} exists with ${existing.partitions} partitions${existing.compacted ? ', compacted' : ''}; asked for ${spec.partitions}${compacted ? ', compacted' : ''}`,
        'TOPIC_MISMATCH',
      );
    }
    return existing;
  }

  async topics(): Promise<TopicInfo[]> {
    this.assertOpen();
    const names = (await this.withAdmin('list topics', (admin) => admin.listTopics())).filter(
      (n) => !n.startsWith('__'),
    );
    return (await this.infos(names)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    this.assertOpen();
    const existing = new Set(await this.withAdmin('list topics', (admin) => admin.listTopics()));
    const topics = names.filter((n) => existing.has(n));
    for (const topic of names) this.counts.delete(topic);
    if (topics.length === 0) return;
    // The broker removes the topics' committed offsets from every group itself.
    await this.withAdmin(`delete topics ${topics.join(', ')}`, (admin) => admin.deleteTopics({ topics }));
    // A topic re-created under the same name must not meet what was cached of the old one.
    for (const topic of topics) {
      this.requestedCompaction.delete(topic);
      this.roundRobin.delete(topic);
      this.readers.forget(topic);
    }
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    this.assertOpen();
    const [info] = await this.infos([name]);
    return info;
  }

  async append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]> {
    const n = await this.partitionCount(topic);
    if (records.length === 0) return [];
    const counts = new Map<number, number>();
    const messages: Message[] = records.map((r, i) => {
      if (r.key !== null && typeof r.key !== 'string')
        throw new TypeError(`record ${i} for ${topic}: key must be a string or null`);
      if (r.value !== null && !Buffer.isBuffer(r.value))
        throw new TypeError(`record ${i} for ${topic}: value must be a Buffer or null`);
      if (r.timestamp !== undefined && !Number.isFinite(r.timestamp))
        throw new TypeError(`record ${i} for ${topic}: timestamp must be a finite number`);
      let partition: number;
      if (r.partition !== undefined) {
        if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= n) {
          throw new TopicError(
            `partition ${r.partition} does not exist in topic ${topic} (${n} partitions)`,
            'UNKNOWN_PARTITION',
          );
        }
        partition = r.partition;
      } else if (r.key !== null) {
        partition = partitionForKey(r.key, n);
      } else {
        const next = this.roundRobin.get(topic) ?? 0;
        this.roundRobin.set(topic, next + 1);
        partition = next % n;
      }
      counts.set(partition, (counts.get(partition) ?? 0) + 1);
      return {
        key: r.key,
        value: r.value,
        partition,
        timestamp: r.timestamp === undefined ? undefined : String(Math.trunc(r.timestamp)),
        headers: r.headers === undefined ? undefined : { ...r.headers },
      };
    });
    const producer = await this.producer();
    // The first acknowledgement of each partition: where this call's records to it begin.
    const metadata: Awaited<ReturnType<Producer['send']>> = [];
    for (const chunk of requestChunks(messages, topic, this.maxRequestBytes)) {
      try {
        const acked = await producer.send({
          topic,
          acks: -1,
          timeout: this.requestTimeoutMs,
          messages: chunk,
        });
        metadata.push(...acked.filter((m) => !metadata.some((x) => x.partition === m.partition)));
      } catch (err) {
        throw kafkaError(err, `append to ${topic}`);
      }
    }
    const acks: AppendAck[] = [];
    for (const [partition, count] of [...counts].sort((a, b) => a[0] - b[0])) {
      const m = metadata.find((x) => x.partition === partition);
      const baseOffset = Number(m?.baseOffset ?? m?.offset);
      if (!m || !Number.isSafeInteger(baseOffset) || baseOffset < 0) {
        throw new ConnectionError(
          `append to ${topic}: the broker acknowledged no offset for partition ${partition}`,
        );
      }
      acks.push({ partition, baseOffset, count });
    }
    return acks;
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    await this.partitionCount(topic);
    const raw = await this.withAdmin(`read offsets of ${topic}`, (admin) => admin.fetchTopicOffsets(topic));
    return raw
      .map((o) => ({ partition: o.partition, start: Number(o.low), end: Number(o.high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  private async checkPartition(topic: string, partition: number): Promise<void> {
    const n = await this.partitionCount(topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
      throw new TopicError(
        `partition ${partition} does not exist in topic ${topic} (${n} partitions)`,
        'UNKNOWN_PARTITION',
      );
    }
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    await this.checkPartition(topic, partition);
    const found = await this.withAdmin(`look up offsets of ${topic} by timestamp ${timestamp}`, (admin) =>
      admin.fetchTopicOffsetsByTimestamp(topic, Math.trunc(timestamp)),
    );
    const hit = found.find((o) => o.partition === partition);
    if (!hit)
      throw new TopicError(
        `partition ${partition} of ${topic} is missing from the broker's answer`,
        'UNKNOWN_PARTITION',
      );
    return Number(hit.offset);
  }

  /**
   * Reads up to `maxRecords` records from `offset` with the partition's cached
   * reader. The end offset is fetched first, so a read at the end returns []
   * without waiting, and a read stops at the end it saw.
   */
  async read(topic: string, partition: number, offset: number, maxRecords: number): Promise<LogRecord[]> {
    await this.checkPartition(topic, partition);
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
    const member = await KafkaLogConsumer.member(this.host, group, offsets);
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
    const n = await this.partitionCount(topic);
    const admin = await this.admin();
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
      const member = await KafkaLogConsumer.member(
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
    const producer = this.producerClient;
    const admin = this.adminClient;
    this.producerClient = undefined;
    this.adminClient = undefined;
    await Promise.allSettled([producer?.then((p) => p.disconnect()), admin?.then((a) => a.disconnect())]);
  }
}
