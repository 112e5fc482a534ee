/**
 * The processor API, shaped like Kafka Streams' Processor API: the runtime
 * calls `init(ctx)` once per task, `process(record)` for every record in
 * offset order, and `close()` on shutdown. Processors never open stores or
 * write to the log themselves: they ask `ctx.store(name)` for the stores the
 * topology declared for them and `ctx.forward(...)` records to their children.
 *
 * @example
 * ```ts
 * class CountPerKey implements Processor<unknown, number> {
 *   private counts!: KeyValueStore<number>;
 *   init(ctx: ProcessorContext<number>) { this.counts = ctx.store('counts'); this.ctx = ctx; }
 *   async process(record: StreamRecord<unknown>) {
 *     const n = ((await this.counts.get(record.key!)) ?? 0) + 1;
 *     this.counts.put(record.key!, n);
 *     this.ctx.forward({ key: record.key, value: n, timestamp: record.timestamp });
 *   }
 * }
 * ```
 */
import type { Logger } from 'pino';
import type { RecordHeaders } from '../log/log.js';
import type { KeyValueStore } from '../state/store.js';

/** A record flowing through a topology. */
export interface StreamRecord<V> {
  readonly key: string | null;
  readonly value: V;
  /** Event time, epoch milliseconds. */
  readonly timestamp: number;
  readonly headers?: RecordHeaders | undefined;
  /**
   * For a record forwarded to a sink: the partition to write it to instead
   * of the key's (watermarks and broadcasts that every partition must see).
   */
  readonly partition?: number | undefined;
}

/**
 * A read-only table every task of an application sees in full: all
 * partitions of one topic, folded in memory by the topology's reducer
 * (Kafka Streams' GlobalKTable). See `TopologyBuilder.addGlobalTable`.
 */
export interface GlobalTableView<V> {
  readonly name: string;
  get(key: string): V | undefined;
  /** Keys held. */
  readonly size: number;
}

/** Where the record being processed came from (undefined inside a punctuator). */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * `stream-time` punctuators fire as event time advances (deterministic on
 * replay); `wall-clock` ones fire on the system clock (for flushing,
 * housekeeping; their effects are not replay-deterministic).
 */
export type PunctuationType = 'stream-time' | 'wall-clock';

export interface Cancellable {
  cancel(): void;
}

export interface ProcessorContext<Out> {
  readonly applicationId: string;
  /** The task's partition: partition number of every source topic this task reads. */
  readonly partition: number;
  /** How many partitions the source topics have (how many tasks the application runs in all). */
  readonly partitionCount: number;
  readonly logger: Logger;
  store<V>(name: string): KeyValueStore<V>;
  /** A global table the topology declares (read-only, the same in every task). */
  globalTable<V>(name: string): GlobalTableView<V>;
  /** Sends a record to every child, or to the named child only. */
  forward(record: StreamRecord<Out>, childName?: string): void;
  schedule(
    intervalMs: number,
    type: PunctuationType,
    callback: (timestamp: number) => void | Promise<void>,
  ): Cancellable;
  /** The largest event time this task has seen (-1 before the first record). */
  streamTime(): number;
  recordMetadata(): RecordMetadata | undefined;
  /**
   * Keeps the task's committed position on `topic` (its own partition) at
   * or before `offset`, so that after a restart the records from `offset`
   * on are delivered again; `null` lifts the hold. For a processor that
   * buffers input records in memory only briefly: instead of writing each
   * one to a store and deleting it soon after (two changelog records and
   * two engine writes per record), it holds the input and rebuilds its
   * buffer from the re-delivered records, recognising those it already
   * handled by what its stores say. The position only ever commits at the
   * lowest hold of the task's processors.
   *
   * @example
   * ```ts
   * ctx.holdInput('rec.interactions.enriched', oldestBuffered?.offset ?? null);
   * ```
   */
  holdInput(topic: string, offset: number | null): void;
}

export interface Processor<In, Out = never> {
  init?(ctx: ProcessorContext<Out>): void | Promise<void>;
  process(record: StreamRecord<In>): void | Promise<void>;
  /**
   * End of a bounded input, like Flink's `endInput`: called only by
   * `StreamRunner.runUntilCaughtUp({ endOfInput: true })` (a finite
   * import run to its end, as `recstream eval` does), once every input is
   * read to its end; never in a live run. A processor that holds work open
   * until a later record arrives (a snapshot that closes on the next
   * example, events waiting for the watermark) finishes it now, as if the
   * stream had ended there. The runner calls it again after what it
   * forwarded has been processed, until a round forwards nothing, so it
   * must forward nothing when it holds nothing open.
   */
  endOfInput?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** Decodes a source topic's value bytes; throws on bad input (the record goes to the DLQ). */
export interface ValueDeserializer<V> {
  deserialize(bytes: Buffer, topic: string): V | Promise<V>;
}

/** Encodes a sink's values to bytes. */
export interface ValueSerializer<V> {
  serialize(value: V, topic: string): Buffer | Promise<Buffer>;
}
