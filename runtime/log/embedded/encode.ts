/**
 * Turns one `append` call into one batch buffer per partition. Two passes:
 * the first picks partitions and measures every record, the second writes
 * them into a single exactly-sized Buffer per partition, so an append costs
 * one allocation per partition rather than one per record.
 */
import { TopicError } from '../../errors.js';
import type { OutgoingRecord } from '../log.js';
import { murmur2 } from '../partitioner.js';
import { BATCH_HEADER_BYTES, headersSize, RECORD_OVERHEAD_BYTES, writeRecord } from './format.js';

/** A batch encoded except for its header, which is sealed once its base offset is known. */
export interface EncodedBatch {
  readonly partition: number;
  readonly buf: Buffer;
  readonly count: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  readonly appendTime: number;
}

/** Per-topic state the encoder needs; `roundRobin` advances across calls. */
export interface EncodeTarget {
  readonly name: string;
  readonly partitions: number;
  readonly compacted: boolean;
  roundRobin: number;
}

let partitionOf = new Int32Array(1024);
let keyBytesOf = new Int32Array(1024);
let headerBytesOf = new Int32Array(1024);
let keyScratch = Buffer.allocUnsafe(1024);

function growScratch(n: number): void {
  if (partitionOf.length >= n) return;
  const size = Math.max(n, partitionOf.length * 2);
  partitionOf = new Int32Array(size);
  keyBytesOf = new Int32Array(size);
  headerBytesOf = new Int32Array(size);
}

function hashPartition(key: string, keyBytes: number, partitions: number): number {
  if (keyScratch.length < keyBytes)
    keyScratch = Buffer.allocUnsafe(Math.max(keyBytes, keyScratch.length * 2));
  keyScratch.write(key, 0, keyBytes === key.length ? 'latin1' : 'utf8');
  return (murmur2(keyScratch.subarray(0, keyBytes)) & 0x7fffffff) % partitions;
}

function choosePartition(target: EncodeTarget, record: OutgoingRecord, keyBytes: number): number {
  const explicit = record.partition;
  if (explicit !== undefined) {
    if (!Number.isInteger(explicit) || explicit < 0 || explicit >= target.partitions) {
      throw new TopicError(
        `partition ${explicit} does not exist in topic ${target.name} (${target.partitions} partitions)`,
        'UNKNOWN_PARTITION',
      );
    }
    return explicit;
  }
  if (target.partitions === 1) return 0;
  if (record.key !== null) return hashPartition(record.key, keyBytes, target.partitions);
  const p = target.roundRobin % target.partitions;
  target.roundRobin = (p + 1) % target.partitions;
  return p;
}

function measure(target: EncodeTarget, record: OutgoingRecord, i: number): number {
  const key = record.key;
  let keyBytes = -1;
  if (key !== null) {
    if (typeof key !== 'string')
      throw new TypeError(`record ${i} for ${target.name}: key must be a string or null`);
    keyBytes = Buffer.byteLength(key, 'utf8');
  } else if (target.compacted) {
    throw new TopicError(
      `record ${i} for compacted topic ${target.name} has a null key; compacted topics need keys`,
      'KEY_REQUIRED',
    );
  }
  const value = record.value;
  if (value !== null && !(value instanceof Uint8Array))
    throw new TypeError(`record ${i} for ${target.name}: value must be a Buffer or null`);
  const ts = record.timestamp;
  if (ts !== undefined && !Number.isFinite(ts))
    throw new TypeError(`record ${i} for ${target.name}: timestamp must be a finite number`);
  const headerBytes = headersSize(record.headers);
  keyBytesOf[i] = keyBytes;
  headerBytesOf[i] = headerBytes;
  partitionOf[i] = choosePartition(target, record, keyBytes);
  return (
    RECORD_OVERHEAD_BYTES +
    Math.max(keyBytes, 0) +
    (value === null ? 0 : value.length) +
    Math.max(headerBytes, 0)
  );
}

/**
 * Encodes `records` into one batch per partition they go to, in partition
 * order. Throws before anything is written if any record is invalid.
 */
export function encodeBatches(
  target: EncodeTarget,
  records: readonly OutgoingRecord[],
  now: number,
): EncodedBatch[] {
  const n = records.length;
  growScratch(n);
  const partitions = target.partitions;
  const bytes = new Array<number>(partitions).fill(0);
  const counts = new Array<number>(partitions).fill(0);
  const rrBefore = target.roundRobin;
  try {
    for (let i = 0; i < n; i++) {
      const size = measure(target, records[i]!, i);
      bytes[partitionOf[i]!]! += size;
      counts[partitionOf[i]!]!++;
    }
  } catch (err) {
    target.roundRobin = rrBefore;
    throw err;
  }
  const batches: EncodedBatch[] = [];
  for (let p = 0; p < partitions; p++) {
    if (counts[p] === 0) continue;
    batches.push(encodePartition(target, records, p, counts[p]!, bytes[p]!, now));
  }
  return batches;
}

function encodePartition(
  target: EncodeTarget,
  records: readonly OutgoingRecord[],
  partition: number,
  count: number,
  bytes: number,
  now: number,
): EncodedBatch {
  const buf = Buffer.allocUnsafeSlow(BATCH_HEADER_BYTES + bytes);
  let pos = BATCH_HEADER_BYTES;
  let delta = 0;
  let first = 0;
  let max = -Infinity;
  const single = target.partitions === 1 || count === records.length;
  for (let i = 0; i < records.length && delta < count; i++) {
    if (!single && partitionOf[i] !== partition) continue;
    const r = records[i]!;
    const ts = r.timestamp ?? now;
    if (delta === 0) first = ts;
    if (ts > max) max = ts;
    pos = writeRecord(buf, pos, delta, ts, r.key, keyBytesOf[i]!, r.value, r.headers, headerBytesOf[i]!);
    delta++;
  }
  return { partition, buf, count, firstTimestamp: first, maxTimestamp: max, appendTime: now };
}
