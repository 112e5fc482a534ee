/**
 * The producer side of `KafkaLog`: `append` over one lazily connected
 * kafkajs producer, idempotent by default (`acks=all`, one request in flight
 * per broker), so a retried request never duplicates or reorders records.
 *
 * Partitions are chosen here, not by kafkajs: an explicit `partition`, else
 * `partitionForKey` (Kafka's murmur2 partitioner) for keyed records, else
 * round-robin per topic for null keys. Knowing each record's partition
 * before sending lets every ack count its records, and keys land where the
 * embedded log puts them. An append larger than `maxRequestBytes` is cut
 * into several requests (`request-chunks.ts`), sent one after another.
 *
 * @example
 * ```ts
 * const producer = new KafkaProducer({ kafka, requestTimeoutMs: 30_000, idempotent: true, maxRequestBytes: 1_048_576, partitionCount, assertOpen });
 * const [ack] = await producer.append('rec.items', [{ key: 'i1', value: bytes }]);
 * await producer.close();
 * ```
 */
import kafkajs, { type Kafka, type Message, type Producer } from 'kafkajs';
import { ConnectionError, TopicError } from '../../errors.js';
import type { AppendAck, OutgoingRecord } from '../log.js';
import { partitionForKey } from '../partitioner.js';
import { kafkaError } from './errors.js';
import { requestChunks } from './request-chunks.js';

export interface KafkaProducerOptions {
  readonly kafka: Kafka;
  /** Broker request timeout, also the produce timeout. */
  readonly requestTimeoutMs: number;
  /** See `KafkaLogOptions.idempotent`. */
  readonly idempotent: boolean;
  /** Largest produce request one append sends. */
  readonly maxRequestBytes: number;
  /** Partition count of an existing topic; a missing topic is a `TopicError`. */
  readonly partitionCount: (topic: string) => Promise<number>;
  /** Throws once the log is closed. */
  readonly assertOpen: () => void;
}

export class KafkaProducer {
  private client: Promise<Producer> | undefined;
  /** Next partition of a null-keyed record without an explicit partition, per topic. */
  private readonly roundRobin = new Map<string, number>();

  constructor(private readonly options: KafkaProducerOptions) {}

  private producer(): Promise<Producer> {
    this.options.assertOpen();
    if (!this.client) {
      const producer = this.options.kafka.producer({
        idempotent: this.options.idempotent,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      });
      this.client = producer.connect().then(
        () => producer,
        (err: unknown) => {
          this.client = undefined;
          throw kafkaError(err, 'connect the Kafka producer');
        },
      );
    }
    return this.client;
  }

  /**
   * Appends `records` to `topic`; one ack per partition written, in partition
   * order, with the broker's offset of that partition's first record.
   */
  async append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]> {
    const n = await this.options.partitionCount(topic);
    if (records.length === 0) return [];
    const counts = new Map<number, number>();
    const messages: Message[] = records.map((r, i) => {
      const partition = this.partitionOf(topic, n, r, i);
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
    for (const chunk of requestChunks(messages, topic, this.options.maxRequestBytes)) {
      try {
        const acked = await producer.send({
          topic,
          acks: -1,
          timeout: this.options.requestTimeoutMs,
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

  /** Checks record `i` and picks its partition among the topic's `n`. */
  private partitionOf(topic: string, n: number, r: OutgoingRecord, i: number): number {
    if (r.key !== null && typeof r.key !== 'string')
      throw new TypeError(`record ${i} for ${topic}: key must be a string or null`);
    if (r.value !== null && !Buffer.isBuffer(r.value))
      throw new TypeError(`record ${i} for ${topic}: value must be a Buffer or null`);
    if (r.timestamp !== undefined && !Number.isFinite(r.timestamp))
      throw new TypeError(`record ${i} for ${topic}: timestamp must be a finite number`);
    if (r.partition !== undefined) {
      if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= n) {
        throw new TopicError(
          `partition ${r.partition} does not exist in topic ${topic} (${n} partitions)`,
          'UNKNOWN_PARTITION',
        );
      }
      return r.partition;
    }
    if (r.key !== null) return partitionForKey(r.key, n);
    const next = this.roundRobin.get(topic) ?? 0;
    this.roundRobin.set(topic, next + 1);
    return next % n;
  }

  /** Forgets the round-robin position of a deleted topic. */
  forget(topic: string): void {
    this.roundRobin.delete(topic);
  }

  async close(): Promise<void> {
    const producer = this.client;
    this.client = undefined;
    await producer?.then((p) => p.disconnect());
  }
}
