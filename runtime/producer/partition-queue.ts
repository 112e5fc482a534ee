/**
 * One partition's side of the producer: a FIFO of encoded records, batched
 * by linger time and size, with **one append in flight at a time**. A failed
 * append is retried (only when the error's `retriable` flag says so) before
 * any later record of the partition is sent, and before each retry the
 * partition is searched for the batch's mark (`landed.ts`), so a retry never
 * reorders records nor writes a batch twice.
 */
import { DeliveryTimeoutError, isRetriable } from '../errors.js';
import type { EventLog, OutgoingRecord } from '../log/log.js';
import type { Logger } from '../observability/logger.js';
import { batchHeaders, findBatch } from './landed.js';
import type { DeliveryReport, ResolvedProducerOptions } from './options.js';
import type { ProducerMetrics } from './producer-metrics.js';

/** Where a record's outcome goes: the send call it came from. */
export interface RecordSink {
  acknowledged(index: number, partition: number, offset: number): void;
  failed(err: unknown): void;
}

export interface QueuedRecord {
  readonly record: OutgoingRecord;
  /** The value the caller sent, for delivery reports. */
  readonly source: unknown;
  readonly bytes: number;
  readonly sink: RecordSink;
  /** Position of the record in its send call. */
  readonly index: number;
  readonly enqueuedAt: number;
}

/** What every partition queue of a producer shares. */
export interface QueueContext {
  readonly log: EventLog;
  readonly options: ResolvedProducerOptions;
  readonly producerId: string;
  readonly logger: Logger | undefined;
  readonly metrics: ProducerMetrics | undefined;
  nextBatchSeq(): number;
  /** Frees buffer room for records that left the producer (acknowledged or failed). */
  release(records: number, bytes: number): void;
  readonly onDelivery: ((report: DeliveryReport) => void) | undefined;
}

export class PartitionQueue {
  private pending: QueuedRecord[] = [];
  private pendingBytes = 0;
  private inFlight: Promise<void> | undefined;
  /** Cancels the pending linger wake-up, if any. */
  private cancelTimer: (() => void) | undefined;
  // Counters, so a flush waits for what was queued before it and not for what keeps arriving.
  private pushed = 0;
  private settled = 0;

  /**
   * @param knownEnd - an offset at or below where this producer's next batch
   *   will land: the partition's end when the producer first saw the topic,
   *   then the end of its last acknowledged batch. Landed-batch searches start here.
   */
  constructor(
    readonly topic: string,
    readonly partition: number,
    private knownEnd: number,
    private readonly ctx: QueueContext,
  ) {}

  /** Records buffered or in flight. */
  get size(): number {
    return this.pending.length;
  }

  push(entry: QueuedRecord): void {
    this.pending.push(entry);
    this.pendingBytes += entry.bytes;
    this.pushed++;
    if (this.inFlight !== undefined) return;
    if (this.batchFull()) this.dispatch();
    else this.wakeAfter(this.ctx.options.lingerMs);
  }

  /** Appends what is buffered now without waiting for the linger time; resolves when every record queued so far is settled. */
  async drain(): Promise<void> {
    const target = this.pushed;
    while (this.settled < target) {
      if (this.inFlight === undefined) this.dispatch();
      await this.inFlight;
    }
  }

  private batchFull(): boolean {
    const { maxBatchRecords, maxBatchBytes } = this.ctx.options;
    return this.pending.length >= maxBatchRecords || this.pendingBytes >= maxBatchBytes;
  }

  private dispatch(): void {
    if (this.cancelTimer !== undefined) {
      this.cancelTimer();
      this.cancelTimer = undefined;
    }
    if (this.inFlight !== undefined || this.pending.length === 0) return;
    const batch = this.takeBatch();
    this.inFlight = this.deliver(batch).finally(() => {
      this.inFlight = undefined;
      this.afterBatch();
    });
  }

  private afterBatch(): void {
    if (this.pending.length === 0) return;
    const waited = Date.now() - this.pending[0]!.enqueuedAt;
    // Records that queued behind an append have waited at least as long as it took.
    if (this.batchFull() || waited >= this.ctx.options.lingerMs) this.dispatch();
    else this.wakeAfter(this.ctx.options.lingerMs - waited);
  }

  /**
   * Dispatches after `ms`; with 0, at the end of this event-loop turn
   * (setImmediate), so records sent in one turn — a request's events spread
   * over partitions — still share their batches without waiting a timer tick.
   */
  private wakeAfter(ms: number): void {
    if (this.cancelTimer !== undefined) return;
    if (ms <= 0) {
      const immediate = setImmediate(() => this.dispatch());
      this.cancelTimer = () => clearImmediate(immediate);
    } else {
      const timeout = setTimeout(() => this.dispatch(), ms);
      this.cancelTimer = () => clearTimeout(timeout);
    }
  }

  private takeBatch(): QueuedRecord[] {
    const { maxBatchRecords, maxBatchBytes } = this.ctx.options;
    let n = 0;
    let bytes = 0;
    while (n < this.pending.length && n < maxBatchRecords && (n === 0 || bytes < maxBatchBytes)) {
      bytes += this.pending[n]!.bytes;
      n++;
    }
    const batch = this.pending.splice(0, n);
    this.pendingBytes -= bytes;
    return batch;
  }

  private async deliver(batch: QueuedRecord[]): Promise<void> {
    const seq = this.ctx.nextBatchSeq();
    const records = batch.map((e) => e.record);
    const first = records[0]!;
    records[0] = { ...first, headers: batchHeaders(first.headers, this.ctx.producerId, seq) };
    const bytes = batch.reduce((sum, e) => sum + e.bytes, 0);
    let baseOffset: number;
    try {
      baseOffset = await this.appendWithRetries(records, seq);
    } catch (err) {
      this.settled += batch.length;
      this.ctx.metrics?.failed.inc({ topic: this.topic }, batch.length);
      this.ctx.release(batch.length, bytes);
      for (const e of batch) e.sink.failed(err);
      return;
    }
    this.knownEnd = baseOffset + records.length;
    this.settled += batch.length;
    this.ctx.metrics?.records.inc({ topic: this.topic }, batch.length);
    this.ctx.metrics?.batches.inc({ topic: this.topic });
    this.ctx.release(batch.length, bytes);
    this.ctx.onDelivery?.({
      topic: this.topic,
      partition: this.partition,
      baseOffset,
      records,
      values: batch.map((e) => e.source),
    });
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      e.sink.acknowledged(e.index, this.partition, baseOffset + i);
    }
  }

  /** Resolves with the batch's base offset once it is in the log exactly once. */
  private async appendWithRetries(records: OutgoingRecord[], seq: number): Promise<number> {
    const { deliveryTimeoutMs, retryBackoffMs, retryBackoffMaxMs } = this.ctx.options;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        if (attempt > 0) {
          const landed = await findBatch(
            this.ctx.log,
            this.topic,
            this.partition,
            this.knownEnd,
            this.ctx.producerId,
            seq,
          );
          if (landed !== undefined) return landed;
        }
        const acks = await this.ctx.log.append(this.topic, records);
        const ack = acks.find((a) => a.partition === this.partition);
        if (ack === undefined || ack.count !== records.length) {
          throw new Error(
            `log acknowledged ${JSON.stringify(acks)} for ${records.length} records to ${this.topic}-${this.partition}`,
          );
        }
        return ack.baseOffset;
      } catch (err) {
        if (!isRetriable(err)) throw err;
        const delay = Math.min(retryBackoffMaxMs, retryBackoffMs * 2 ** attempt);
        if (Date.now() - started + delay > deliveryTimeoutMs) {
          throw new DeliveryTimeoutError(
            `gave up appending ${records.length} records to ${this.topic}-${this.partition} after ${attempt + 1} attempts in ${Date.now() - started} ms (deliveryTimeoutMs ${deliveryTimeoutMs}): ${(err as Error).message}`,
            err,
          );
        }
        this.ctx.metrics?.retries.inc({ topic: this.topic });
        this.ctx.logger?.warn(
          { topic: this.topic, partition: this.partition, attempt: attempt + 1, delay_ms: delay, err },
          'append failed, retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
