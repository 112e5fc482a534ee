/**
 * On-disk record batch format of the embedded log (little-endian), modelled
 * on Kafka's record batch v2 but with fixed-width fields, because decoding
 * fixed widths is what makes a JS reader fast.
 *
 * Batch header (56 bytes):
 * ```
 *  0 u32 length        whole batch, header included
 *  4 u32 crc32         zlib crc32 of bytes [8, length)
 *  8 u8  magic (1)     9 u8 attributes (0)   10 u16 reserved
 * 12 u32 count         records present (fewer than the offset span after compaction)
 * 16 u32 baseOffset lo 20 u32 baseOffset hi
 * 24 u32 lastOffsetDelta   the batch covers [base, base + lastOffsetDelta]
 * 28 u32 reserved
 * 32 f64 firstTimestamp   40 f64 maxTimestamp
 * 48 f64 appendTime    wall clock of the append (retention, tombstone expiry)
 * ```
 * Record (25 bytes + payload):
 * ```
 * u8 attributes (bit 0: key is ASCII)  u32 offsetDelta  f64 timestamp
 * i32 keyLength (-1 = null)  key UTF-8
 * i32 valueLength (-1 = null, a tombstone)  value
 * i32 headersLength (-1 = none)  headers: u16 count, then per header u16 + name UTF-8, u32 + value UTF-8
 * ```
 * The CRC covers the base offset, so a batch is only valid at the offsets it
 * was written with; the length comes first so a reader can skip a batch
 * after reading 4 bytes.
 */
import { crc32 } from 'node:zlib';
import { CorruptDataError } from '../../errors.js';
import type { LogRecord, RecordHeaders } from '../log.js';

export const BATCH_HEADER_BYTES = 56;
export const RECORD_OVERHEAD_BYTES = 25;
const MAGIC = 1;

const OFF_LENGTH = 0;
const OFF_CRC = 4;
const OFF_MAGIC = 8;
const OFF_COUNT = 12;
const OFF_BASE_LO = 16;
const OFF_BASE_HI = 20;
const OFF_LAST_DELTA = 24;
const OFF_FIRST_TS = 32;
const OFF_MAX_TS = 40;
const OFF_APPEND_TIME = 48;
const CRC_START = 8;
const TWO_32 = 0x1_0000_0000;
const KEY_ASCII = 1;

/** A record as the embedded log returns it; a class so every record has one hidden shape. */
export class EmbeddedRecord implements LogRecord {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly timestamp: number,
    readonly key: string | null,
    readonly value: Buffer | null,
    readonly headers: RecordHeaders | undefined,
  ) {}
}

/** The fields of a batch header a reader needs before deciding to decode the batch. */
export interface BatchHeader {
  length: number;
  count: number;
  baseOffset: number;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  appendTime: number;
}

export function batchLength(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos + OFF_LENGTH);
}

function batchBaseOffset(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos + OFF_BASE_HI) * TWO_32 + buf.readUInt32LE(pos + OFF_BASE_LO);
}

export function batchLastOffset(buf: Buffer, pos: number): number {
  return batchBaseOffset(buf, pos) + buf.readUInt32LE(pos + OFF_LAST_DELTA);
}

/** Reads a header, or returns undefined when the bytes cannot be one (zeros, garbage, wrong magic). */
export function readBatchHeader(buf: Buffer, pos: number): BatchHeader | undefined {
  const length = buf.readUInt32LE(pos + OFF_LENGTH);
  if (length < BATCH_HEADER_BYTES || buf[pos + OFF_MAGIC] !== MAGIC) return undefined;
  const count = buf.readUInt32LE(pos + OFF_COUNT);
  const lastOffsetDelta = buf.readUInt32LE(pos + OFF_LAST_DELTA);
  if (count > lastOffsetDelta + 1 || count * RECORD_OVERHEAD_BYTES > length - BATCH_HEADER_BYTES)
    return undefined;
  return {
    length,
    count,
    baseOffset: batchBaseOffset(buf, pos),
    lastOffsetDelta,
    firstTimestamp: buf.readDoubleLE(pos + OFF_FIRST_TS),
    maxTimestamp: buf.readDoubleLE(pos + OFF_MAX_TS),
    appendTime: buf.readDoubleLE(pos + OFF_APPEND_TIME),
  };
}

export function batchCrcMatches(buf: Buffer, pos: number, length: number): boolean {
  return crc32(buf.subarray(pos + CRC_START, pos + length)) === buf.readUInt32LE(pos + OFF_CRC);
}

/**
 * Writes the header of a batch whose records already sit at
 * `[pos + BATCH_HEADER_BYTES, pos + length)`, then its CRC. Called when the
 * base offset is known, i.e. just before the write.
 */
export function sealBatch(buf: Buffer, pos: number, header: BatchHeader): void {
  buf.writeUInt32LE(header.length, pos + OFF_LENGTH);
  buf[pos + OFF_MAGIC] = MAGIC;
  buf[pos + OFF_MAGIC + 1] = 0;
  buf.writeUInt16LE(0, pos + OFF_MAGIC + 2);
  buf.writeUInt32LE(header.count, pos + OFF_COUNT);
  buf.writeUInt32LE(header.baseOffset % TWO_32, pos + OFF_BASE_LO);
  buf.writeUInt32LE(Math.floor(header.baseOffset / TWO_32), pos + OFF_BASE_HI);
  buf.writeUInt32LE(header.lastOffsetDelta, pos + OFF_LAST_DELTA);
  buf.writeUInt32LE(0, pos + OFF_LAST_DELTA + 4);
  buf.writeDoubleLE(header.firstTimestamp, pos + OFF_FIRST_TS);
  buf.writeDoubleLE(header.maxTimestamp, pos + OFF_MAX_TS);
  buf.writeDoubleLE(header.appendTime, pos + OFF_APPEND_TIME);
  buf.writeUInt32LE(crc32(buf.subarray(pos + CRC_START, pos + header.length)), pos + OFF_CRC);
}

/** Bytes the encoded headers take, or -1 for none. */
export function headersSize(headers: RecordHeaders | undefined): number {
  if (headers === undefined) return -1;
  let size = 2;
  let count = 0;
  for (const name in headers) {
    size += 6 + Buffer.byteLength(name) + Buffer.byteLength(headers[name]!);
    count++;
  }
  if (count > 0xffff) throw new RangeError(`a record may carry at most 65535 headers, got ${count}`);
  return count === 0 ? -1 : size;
}

/**
 * Writes one record at `pos` and returns the position after it.
 * `keyBytes` / `headerBytes` are the sizes measured beforehand (-1 for null).
 */
export function writeRecord(
  buf: Buffer,
  pos: number,
  offsetDelta: number,
  timestamp: number,
  key: string | null,
  keyBytes: number,
  value: Uint8Array | null,
  headers: RecordHeaders | undefined,
  headerBytes: number,
): number {
  buf[pos] = key !== null && keyBytes === key.length ? KEY_ASCII : 0;
  buf.writeUInt32LE(offsetDelta, pos + 1);
  buf.writeDoubleLE(timestamp, pos + 5);
  buf.writeInt32LE(keyBytes, pos + 13);
  let p = pos + 17;
  if (key !== null) p += buf.write(key, p, keyBytes === key.length ? 'latin1' : 'utf8');
  if (value === null) {
    buf.writeInt32LE(-1, p);
    p += 4;
  } else {
    buf.writeInt32LE(value.length, p);
    buf.set(value, p + 4);
    p += 4 + value.length;
  }
  buf.writeInt32LE(headerBytes, p);
  p += 4;
  if (headerBytes >= 0) p = writeHeaders(buf, p, headers!);
  return p;
}

function writeHeaders(buf: Buffer, pos: number, headers: RecordHeaders): number {
  let count = 0;
  let p = pos + 2;
  for (const name in headers) {
    const n = buf.write(name, p + 2, 'utf8');
    buf.writeUInt16LE(n, p);
    p += 2 + n;
    const v = buf.write(headers[name]!, p + 4, 'utf8');
    buf.writeUInt32LE(v, p);
    p += 4 + v;
    count++;
  }
  buf.writeUInt16LE(count, pos);
  return p;
}

function readHeaders(buf: Buffer, pos: number, end: number): RecordHeaders {
  const headers: Record<string, string> = {};
  const count = buf.readUInt16LE(pos);
  let p = pos + 2;
  for (let i = 0; i < count; i++) {
    const n = buf.readUInt16LE(p);
    const name = buf.toString('utf8', p + 2, p + 2 + n);
    p += 2 + n;
    const v = buf.readUInt32LE(p);
    headers[name] = buf.toString('utf8', p + 4, p + 4 + v);
    p += 4 + v;
  }
  if (p !== end) throw new RangeError('headers overrun their length');
  return headers;
}

/** One decoded record, for internal passes (compaction) that need positions rather than LogRecords. */
export interface RecordView {
  offset: number;
  timestamp: number;
  key: string | null;
  /** null for a tombstone. */
  isTombstone: boolean;
  /** Byte range of the whole record inside the batch buffer. */
  start: number;
  end: number;
}

/**
 * Calls `visit` for each record of the (CRC-checked) batch at `pos`. Used by
 * compaction; the hot read path is `decodeBatch`.
 */
export function forEachRecord(buf: Buffer, pos: number, visit: (record: RecordView) => void): void {
  const length = buf.readUInt32LE(pos + OFF_LENGTH);
  const count = buf.readUInt32LE(pos + OFF_COUNT);
  const base = batchBaseOffset(buf, pos);
  const view: RecordView = { offset: 0, timestamp: 0, key: null, isTombstone: false, start: 0, end: 0 };
  let p = pos + BATCH_HEADER_BYTES;
  const end = pos + length;
  for (let i = 0; i < count; i++) {
    if (p + RECORD_OVERHEAD_BYTES > end) throw new RangeError('record overruns its batch');
    view.start = p;
    view.offset = base + buf.readUInt32LE(p + 1);
    view.timestamp = buf.readDoubleLE(p + 5);
    const keyLength = buf.readInt32LE(p + 13);
    p += 17;
    if (keyLength >= 0) {
      view.key = buf.toString(buf[view.start]! & KEY_ASCII ? 'latin1' : 'utf8', p, p + keyLength);
      p += keyLength;
    } else view.key = null;
    const valueLength = buf.readInt32LE(p);
    view.isTombstone = valueLength < 0;
    p += 4 + Math.max(valueLength, 0);
    const headerLength = buf.readInt32LE(p);
    p += 4 + Math.max(headerLength, 0);
    if (p > end) throw new RangeError('record overruns its batch');
    view.end = p;
    visit(view);
  }
}

/**
 * Decodes the records of the batch at `pos` whose offset is >= `from` into
 * `out`, stopping at `max` records. Values are views into `buf` (no copy).
 * Returns the offset of the last record pushed, or -1 if none.
 */
export function decodeBatch(
  buf: Buffer,
  pos: number,
  topic: string,
  partition: number,
  from: number,
  max: number,
  out: LogRecord[],
  where: () => string,
): number {
  const length = buf.readUInt32LE(pos + OFF_LENGTH);
  const count = buf.readUInt32LE(pos + OFF_COUNT);
  const base = batchBaseOffset(buf, pos);
  const end = pos + length;
  let p = pos + BATCH_HEADER_BYTES;
  let last = -1;
  try {
    for (let i = 0; i < count && out.length < max; i++) {
      const attributes = buf[p]!;
      const offset = base + buf.readUInt32LE(p + 1);
      const timestamp = buf.readDoubleLE(p + 5);
      const keyLength = buf.readInt32LE(p + 13);
      p += 17;
      let key: string | null = null;
      if (keyLength >= 0) {
        key = buf.toString(attributes & KEY_ASCII ? 'latin1' : 'utf8', p, p + keyLength);
        p += keyLength;
      }
      const valueLength = buf.readInt32LE(p);
      p += 4;
      let value: Buffer | null = null;
      if (valueLength >= 0) {
        value = buf.subarray(p, p + valueLength);
        p += valueLength;
      }
      const headerLength = buf.readInt32LE(p);
      p += 4;
      let headers: RecordHeaders | undefined;
      if (headerLength >= 0) {
        headers = readHeaders(buf, p, p + headerLength);
        p += headerLength;
      }
      if (p > end) throw new RangeError('record overruns its batch');
      if (offset < from) continue;
      out.push(new EmbeddedRecord(topic, partition, offset, timestamp, key, value, headers));
      last = offset;
    }
  } catch (err) {
    throw new CorruptDataError(
      `${where()}: batch at offset ${base} has a valid CRC but malformed records`,
      err,
    );
  }
  return last;
}
