/**
 * The producer client: how services publish typed events to the platform's
 * topics. Values are checked against their Avro schema and
 * encoded in the Confluent wire format through the schema registry (`Serde`),
 * buffered, batched per partition (linger + size), appended, and retried on
 * errors whose `retriable` flag is set.
 *
 * Guarantees, per partition (records with one key always share one):
 * - **Order**: acknowledged records are in the log in the order they were
 *   sent. One append per partition is in flight at a time, and a failed batch
 *   is retried before anything sent after it.
 * - **No duplicates from retries**: before retrying, the producer looks for
 *   the batch in the partition (its first record carries the producer's id
 *   and batch number) and does not append it again if it is there.
 * - **Acknowledged = durable**: `deliver` resolves, and `flush` returns, only
 *   after the log acknowledged the records, i.e. they survive a kill -9.
 * - **Failure is loud**: a batch fails after a non-retriable error or after
 *   `deliveryTimeoutMs` of retries (then its fate is unknown and a resend may
 *   duplicate it; readers drop duplicates by `event_id`). A failed batch does
 *   not hold back later ones, so a record you resend after a failure lands
 *   after what was sent in between.
 * Resending the same event is always safe: deduplication by `event_id` on
 * the consumer side is the platform's contract.
 *
 * Back-pressure: at most `maxBufferedRecords` / `maxBufferedBytes` are held;
 * `send` waits for room (first come, first served), `deliver(…, { ifFull:
 * 'reject' })` fails fast with a retriable BufferFullError instead.
 *
 * @example
 * ```ts
 * import { createProducer, loadConfig, openPlatform } from 'recstream';
 *
 * const platform = await openPlatform(loadConfig());
 * const producer = createProducer({ log: platform.log, serde: platform.serde });
 * // Typed by topic; keyed by user_id and timestamped by ts unless you say otherwise.
 * await producer.send('rec.interactions', [{ value: {
 *   event_id: crypto.randomUUID(), user_id: 'u42', item_id: 'i7', type: 'click',
 *   value: null, watch_ms: null, ts: Date.now(),
 *   context: { device: 'web', country: 'PT', session_id: null, surface: 'home', request_id: null },
 * } }]);
 * // Or wait until the log acknowledged them:
 * const [meta] = await producer.deliver('rec.items', [{ value: item }]);
 * await producer.close();   // flushes; the platform (log, registry) is yours to close
 * await platform.close();
 * ```
 */
import { randomUUID } from 'node:crypto';
import { BufferFullError, ProducerError, RecstreamError, TopicError } from '../errors.js';
import type { EventLog, RecordHeaders } from '../log/log.js';
import { activeTraceHeaders, refreshTracing } from '../observability/tracing.js';
import type { Serde } from '../serde/serde.js';
import { BufferGate } from './buffer-gate.js';
import { DeliveryTracker } from './delivery-tracker.js';
import { type DeliveryReport, type ProducerOptions, resolveProducerOptions } from './options.js';
import { PartitionQueue, type QueueContext, type RecordSink } from './partition-queue.js';
import { producerMetrics } from './producer-metrics.js';
import { type EncodedRecord, encodeRecords, type ProducerTopic } from './record-encoding.js';
import type { TopicValue } from './topics.js';

export type { DeliveryReport, ProducerOptions, TopicValue };

/** One record to send. */
export interface ProducerRecord<V> {
  /** The value; null is a tombstone (compacted topics). */
  readonly value: V | null;
  /**
   * Record key. Defaults to the topic's key field in the serde's topic
   * catalogue (`user_id` on rec.interactions, `item_id` on rec.items, …); null spreads
   * keyless records round-robin.
   */
  readonly key?: string | null;
  /** Epoch ms. Defaults to the value's event time (`ts`, `updated_ts`, …), else now. */
  readonly timestamp?: number;
  /** Explicit partition; otherwise Kafka's murmur2 partitioner on the key. */
  readonly partition?: number;
  readonly headers?: RecordHeaders;
}

/** Where an acknowledged record is. */
export interface DeliveredRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface DeliverOptions {
  /** `wait` (default): wait for buffer room. `reject`: throw BufferFullError at once when there is none. */
  readonly ifFull?: 'wait' | 'reject';
}

export interface Producer {
  /**
   * Validates, encodes and buffers records; resolves once they are buffered
   * (waiting while the buffer is full), not when they are acknowledged.
   * All records are validated before any is buffered. A failure to append
   * them later is reported by the next `flush()` or `close()`.
   *
   * @throws SchemaValidationError naming the record and each bad field
   * @throws TopicError when the topic does not exist and `createTopics` is unset
   */
  send<T extends string>(topic: T, records: readonly ProducerRecord<TopicValue<T>>[]): Promise<void>;
  /**
   * Like `send`, but resolves when the log acknowledged every record, with
   * each record's partition and offset (in input order).
   *
   * @throws BufferFullError with `ifFull: 'reject'` when the buffer has no room (retriable)
   * @throws DeliveryTimeoutError or the log's non-retriable error when an append failed
   */
  deliver<T extends string>(
    topic: T,
    records: readonly ProducerRecord<TopicValue<T>>[],
    options?: DeliverOptions,
  ): Promise<DeliveredRecord[]>;
  /**
   * Appends everything buffered now without waiting for the linger time and
   * resolves when it is acknowledged.
   *
   * @throws the first error of a `send` whose records failed since the last flush
   */
  flush(): Promise<void>;
  /** Flushes, then refuses further sends with ProducerError. Does not close the log. */
  close(): Promise<void>;
  /** Records buffered or in flight. */
  readonly buffered: number;
}

/**
 * Creates a producer over a platform's log and serde.
 *
 * @example
 * ```ts
 * const producer = createProducer({ log: platform.log, serde: platform.serde, lingerMs: 2 });
 * ```
 */
export function createProducer(options: ProducerOptions): Producer {
  return new LogProducer(options);
}

class LogProducer implements Producer {
  private readonly log: EventLog;
  private readonly serde: Serde;
  private readonly options: ReturnType<typeof resolveProducerOptions>;
  private readonly gate: BufferGate;
  private readonly context: QueueContext;
  private readonly topics = new Map<string, Promise<ProducerTopic>>();
  private readonly openTopics = new Map<string, ProducerTopic>();
  private batchSeq = 0;
  private closed = false;
  private sendFailure: { error: unknown; records: number } | undefined;
  /** Whether a tracer provider was registered when the producer was made: only then are headers touched. */
  private readonly tracing: boolean;

  constructor(private readonly raw: ProducerOptions) {
    this.tracing = refreshTracing();
    this.log = raw.log;
    this.serde = raw.serde;
    this.options = resolveProducerOptions(raw);
    this.gate = new BufferGate(this.options.maxBufferedRecords, this.options.maxBufferedBytes);
    const metrics = raw.metrics === undefined ? undefined : producerMetrics(raw.metrics);
    this.context = {
      log: raw.log,
      options: this.options,
      producerId: randomUUID(),
      logger: raw.logger,
      metrics,
      nextBatchSeq: () => this.batchSeq++,
      release: (records, bytes) => {
        this.gate.release(records, bytes);
        metrics?.buffered.dec(records);
      },
      onDelivery: raw.onDelivery,
    };
  }

  get buffered(): number {
    return this.gate.bufferedRecords;
  }

  async send<T extends string>(topic: T, records: readonly ProducerRecord<TopicValue<T>>[]): Promise<void> {
    await this.enqueue(topic, records, this.fireAndForgetSink(records.length), 'wait');
  }

  async deliver<T extends string>(
    topic: T,
    records: readonly ProducerRecord<TopicValue<T>>[],
    options: DeliverOptions = {},
  ): Promise<DeliveredRecord[]> {
    const tracker = new DeliveryTracker(topic, records.length);
    // Observed here too: if enqueueing throws half-way, nobody else will await the tracker.
    tracker.promise.catch(() => {});
    await this.enqueue(topic, records, tracker, options.ifFull ?? 'wait');
    return tracker.promise;
  }

  async flush(): Promise<void> {
    const states = await Promise.allSettled(this.topics.values());
    const queues = states.flatMap((s) => (s.status === 'fulfilled' ? s.value.queues : []));
    await Promise.all(queues.map((q) => q.drain()));
    const failure = this.sendFailure;
    this.sendFailure = undefined;
    if (failure !== undefined) {
      if (failure.error instanceof RecstreamError) throw failure.error;
      throw new ProducerError(
        `${failure.records} sent records were not appended: ${(failure.error as Error)?.message ?? String(failure.error)}`,
        'DELIVERY_FAILED',
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.gate.rejectWaiters(
      new ProducerError('the producer was closed while this send waited for buffer room', 'PRODUCER_CLOSED'),
    );
    await this.flush();
  }

  private async enqueue(
    topic: string,
    records: readonly ProducerRecord<unknown>[],
    sink: RecordSink,
    ifFull: 'wait' | 'reject',
  ): Promise<void> {
    this.assertOpen();
    if (records.length === 0) return;
    // Synchronous from here on when the topic is known and there is room, so records
    // enter the partition queues in the order the sends were called.
    const state = this.openTopics.get(topic) ?? (await this.topicState(topic));
    // Records sent under a span carry its context (W3C traceparent), unless they name a trace themselves.
    const encoded = encodeRecords(topic, state, records, this.tracing ? activeTraceHeaders() : undefined);
    if (ifFull === 'reject') {
      const bytes = encoded.reduce((sum, e) => sum + e.bytes, 0);
      if (!this.gate.tryAcquire({ records: encoded.length, bytes })) {
        throw new BufferFullError(
          `the producer buffer is full (${this.gate.bufferedRecords} of ${this.gate.maxRecords} records, ${this.gate.bufferedBytes} of ${this.gate.maxBytes} bytes); retry after it drains`,
        );
      }
      this.push(state, encoded, 0, encoded.length, sink);
      return;
    }
    // Chunks no larger than a batch, so a large send cannot hold the whole buffer while it waits.
    const size = this.options.maxBatchRecords;
    const chunks: { records: number; bytes: number }[] = [];
    for (let from = 0; from < encoded.length; from += size) {
      const to = Math.min(encoded.length, from + size);
      let bytes = 0;
      for (let i = from; i < to; i++) bytes += encoded[i]!.bytes;
      chunks.push({ records: to - from, bytes });
    }
    await this.gate.reserve(chunks, (c) =>
      this.push(state, encoded, c * size, Math.min(encoded.length, (c + 1) * size), sink),
    );
  }

  private push(
    state: ProducerTopic,
    encoded: readonly EncodedRecord[],
    from: number,
    to: number,
    sink: RecordSink,
  ): void {
    this.context.metrics?.buffered.inc(to - from);
    const now = Date.now();
    for (let i = from; i < to; i++) {
      const { record, source, bytes } = encoded[i]!;
      state.queues[record.partition!]!.push({ record, source, bytes, sink, index: i, enqueuedAt: now });
    }
  }

  private topicState(topic: string): Promise<ProducerTopic> {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = this.openTopic(topic);
      this.topics.set(topic, state);
      // A missing topic may be created a moment later: do not remember the failure.
      state.catch(() => this.topics.delete(topic));
    }
    return state;
  }

  private async openTopic(topic: string): Promise<ProducerTopic> {
    let info = await this.log.describeTopic(topic);
    if (info === undefined) {
      const create = this.raw.createTopics;
      if (create === undefined) {
        throw new TopicError(
          `topic ${topic} does not exist; create it first (recstream commands create platform topics with RECSTREAM_PARTITIONS partitions) or pass createTopics to createProducer`,
          'TOPIC_NOT_FOUND',
        );
      }
      info = await this.log.ensureTopic({
        name: topic,
        partitions: create.partitions,
        compacted: this.serde.contract.topics.isCompacted(topic),
      });
    }
    const encoder = await this.serde.encoder(`${topic}-value`);
    const ends = await this.log.offsets(topic);
    const queues = ends.map((o) => new PartitionQueue(topic, o.partition, o.end, this.context));
    const state: ProducerTopic = {
      partitions: info.partitions,
      queues,
      encoder,
      catalogued: this.serde.contract.topics.topic(topic),
      roundRobin: -1,
    };
    this.openTopics.set(topic, state);
    return state;
  }

  private fireAndForgetSink(records: number): RecordSink {
    let reported = false;
    return {
      acknowledged: () => {},
      failed: (error) => {
        if (reported) return;
        reported = true;
        if (this.sendFailure === undefined) this.sendFailure = { error, records };
        else this.sendFailure.records += records;
        this.raw.logger?.error({ err: error, records }, 'sent records were not appended');
      },
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new ProducerError('the producer is closed', 'PRODUCER_CLOSED');
  }
}
