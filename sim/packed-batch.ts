/**
 * How encoded records cross from the simulation worker to the thread that
 * appends them: per topic, the Avro values laid end to end in one buffer,
 * and their end offsets, timestamps and keys in another, both transferred,
 * not copied. Keys travel as numbers (every simulated key is `u<n>` or
 * `i<n>`): strings are slow to post between threads. The appending side
 * turns them back into `OutgoingRecord`s whose values are views into the
 * buffer.
 *
 * @example
 * ```ts
 * const packer = new TopicPacker('u', 5000);
 * packer.add(1, encoded, ts);                    // key u1
 * const packed = packer.take();                  // post with transferables(packed)
 * const records = unpack(packed);                // OutgoingRecord[] for log.append
 * ```
 */
import type { OutgoingRecord } from '../runtime/log/log.js';
import type { InteractionBatch } from './compact-interactions.js';

export interface PackedTopic {
  readonly count: number;
  /** Every key is this prefix followed by the record's number in `keyNumbers`. */
  readonly keyPrefix: string;
  readonly keyNumbers: Int32Array;
  readonly ends: Int32Array;
  readonly timestamps: Float64Array;
  readonly bytes: Uint8Array;
}

/**
 * A batch's interactions: encoded by the worker, or as columns for the
 * appending thread to encode (the two share the Avro work).
 */
export type InteractionPayload = { readonly encoded: PackedTopic } | { readonly columns: InteractionBatch };

/** One batch of the stream: catalog and user records due before (or with) its interactions. */
export interface BatchMessage {
  readonly kind: 'batch';
  readonly items: PackedTopic;
  readonly users: PackedTopic;
  readonly interactions: InteractionPayload;
  readonly interactionCount: number;
  /** Event time of the batch's last record. */
  readonly lastTs: number;
}

export interface EndMessage {
  readonly kind: 'end';
}

export interface ErrorMessage {
  readonly kind: 'error';
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
  readonly retriable: boolean;
}

export type WorkerMessage = BatchMessage | EndMessage | ErrorMessage;

export class TopicPacker {
  private keyNumbers: Int32Array;
  private ends: Int32Array;
  private timestamps: Float64Array;
  private values: Buffer[] = [];
  private bytes = 0;
  private n = 0;

  constructor(
    private readonly keyPrefix: string,
    private readonly capacity: number,
  ) {
    ({ keyNumbers: this.keyNumbers, ends: this.ends, timestamps: this.timestamps } = columns(capacity));
  }

  get count(): number {
    return this.n;
  }

  add(keyNumber: number, value: Buffer, timestamp: number): void {
    if (this.n === this.capacity) throw new RangeError(`TopicPacker holds at most ${this.capacity} records`);
    const i = this.n++;
    this.keyNumbers[i] = keyNumber;
    this.values.push(value);
    this.bytes += value.length;
    this.ends[i] = this.bytes;
    this.timestamps[i] = timestamp;
  }

  /** The packed records; the packer starts over empty. */
  take(): PackedTopic {
    // A buffer of its own (never a slice of Node's shared pool), so that it can be transferred.
    const bytes = new Uint8Array(this.bytes);
    let at = 0;
    for (const v of this.values) {
      bytes.set(v, at);
      at += v.length;
    }
    const packed: PackedTopic = {
      count: this.n,
      keyPrefix: this.keyPrefix,
      keyNumbers: this.keyNumbers,
      ends: this.ends,
      timestamps: this.timestamps,
      bytes,
    };
    ({ keyNumbers: this.keyNumbers, ends: this.ends, timestamps: this.timestamps } = columns(this.capacity));
    this.values = [];
    this.bytes = 0;
    this.n = 0;
    return packed;
  }
}

/** Per-record columns as views of one buffer: one transfer instead of three. */
function columns(n: number): { keyNumbers: Int32Array; ends: Int32Array; timestamps: Float64Array } {
  const buffer = new ArrayBuffer(n * 16);
  return {
    timestamps: new Float64Array(buffer, 0, n),
    keyNumbers: new Int32Array(buffer, n * 8, n),
    ends: new Int32Array(buffer, n * 12, n),
  };
}

/** The buffers a postMessage of these packed topics can transfer instead of copying. */
export function transferables(...topics: PackedTopic[]): ArrayBuffer[] {
  return topics.flatMap((t) => [t.bytes.buffer, t.timestamps.buffer] as ArrayBuffer[]);
}

export function unpack(packed: PackedTopic): OutgoingRecord[] {
  if (packed.count === 0) return [];
  const bytes = Buffer.from(packed.bytes.buffer, packed.bytes.byteOffset, packed.bytes.byteLength);
  const out = new Array<OutgoingRecord>(packed.count);
  let start = 0;
  for (let i = 0; i < packed.count; i++) {
    const end = packed.ends[i]!;
    out[i] = {
      key: `${packed.keyPrefix}${packed.keyNumbers[i]}`,
      value: bytes.subarray(start, end),
      timestamp: packed.timestamps[i]!,
    };
    start = end;
  }
  return out;
}
