/**
 * How encoded records cross from the simulation worker to the thread that
 * appends them: per topic, the Avro values laid end to end in one buffer
 * (transferred, not copied), their end offsets, timestamps and keys. The
 * appending side turns them back into `OutgoingRecord`s whose values are
 * views into that buffer.
 *
 * @example
 * ```ts
 * const packer = new TopicPacker();
 * packer.add('u1', encoded, ts);
 * const packed = packer.take();                  // post with transferables(packed)
 * const records = unpack(packed);                // OutgoingRecord[] for log.append
 * ```
 */
import type { OutgoingRecord } from '../runtime/log/log.js';

export interface PackedTopic {
  readonly count: number;
  /** Keys joined by '\n' (simulated ids never contain one). */
  readonly keys: string;
  readonly ends: Int32Array;
  readonly timestamps: Float64Array;
  readonly bytes: Uint8Array;
}

/** One batch of the stream: catalog and user records due before (or with) its interactions. */
export interface BatchMessage {
  readonly kind: 'batch';
  readonly items: PackedTopic;
  readonly users: PackedTopic;
  readonly interactions: PackedTopic;
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
  private keys: string[] = [];
  private ends: number[] = [];
  private timestamps: number[] = [];
  private values: Buffer[] = [];
  private bytes = 0;

  get count(): number {
    return this.keys.length;
  }

  add(key: string, value: Buffer, timestamp: number): void {
    this.keys.push(key);
    this.values.push(value);
    this.bytes += value.length;
    this.ends.push(this.bytes);
    this.timestamps.push(timestamp);
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
      count: this.keys.length,
      keys: this.keys.join('\n'),
      ends: Int32Array.from(this.ends),
      timestamps: Float64Array.from(this.timestamps),
      bytes,
    };
    this.keys = [];
    this.ends = [];
    this.timestamps = [];
    this.values = [];
    this.bytes = 0;
    return packed;
  }
}

/** The buffers a postMessage of these topics can transfer instead of copying. */
export function transferables(...topics: PackedTopic[]): ArrayBuffer[] {
  return topics.flatMap((t) => [t.bytes.buffer, t.ends.buffer, t.timestamps.buffer] as ArrayBuffer[]);
}

export function unpack(packed: PackedTopic): OutgoingRecord[] {
  if (packed.count === 0) return [];
  const bytes = Buffer.from(packed.bytes.buffer, packed.bytes.byteOffset, packed.bytes.byteLength);
  const keys = packed.keys.split('\n');
  const out = new Array<OutgoingRecord>(packed.count);
  let start = 0;
  for (let i = 0; i < packed.count; i++) {
    const end = packed.ends[i]!;
    out[i] = { key: keys[i]!, value: bytes.subarray(start, end), timestamp: packed.timestamps[i]! };
    start = end;
  }
  return out;
}
