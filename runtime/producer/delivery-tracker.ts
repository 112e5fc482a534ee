/**
 * The outcome of one `deliver` call, as its records are acknowledged.
 *
 * @example
 * ```ts
 * const tracker = new DeliveryTracker('rec.items', records.length);
 * tracker.acknowledged(0, 2, 1042);
 * ```
 */
import type { RecordSink } from './partition-queue.js';
import type { DeliveredRecord } from './producer.js';

/** Resolves when every record is acknowledged, rejects on the first failure. */
export class DeliveryTracker implements RecordSink {
  readonly promise: Promise<DeliveredRecord[]>;
  private readonly metadata: DeliveredRecord[];
  private remaining: number;
  private resolve!: (value: DeliveredRecord[]) => void;
  private reject!: (err: unknown) => void;
  private done = false;

  constructor(
    private readonly topic: string,
    count: number,
  ) {
    this.metadata = new Array(count);
    this.remaining = count;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (count === 0) this.resolve([]);
  }

  acknowledged(index: number, partition: number, offset: number): void {
    this.metadata[index] = { topic: this.topic, partition, offset };
    if (--this.remaining === 0 && !this.done) {
      this.done = true;
      this.resolve(this.metadata);
    }
  }

  failed(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.reject(err);
  }
}
