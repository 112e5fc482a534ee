/**
 * Log compaction for `compacted` topics, the way Kafka's cleaner does it:
 * keep the last record per key, keep offsets (gaps are fine), drop
 * tombstones once they are older than the delete retention, and never touch
 * the active segment. Closed segments are rewritten into `.cleaned` files,
 * renamed to `<base>-<end>.swap` once complete, then swapped in; `open`
 * finishes a swap a crash interrupted (see `recoverSwaps`).
 */
import { closeSync, openSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { storageErrorFrom } from '../../errors.js';
import { batchesOf } from './batch-iterator.js';
import { BATCH_HEADER_BYTES, type BatchHeader, forEachRecord, sealBatch } from './format.js';
import { fullsync, pwritevFully, syncDirSync } from './io.js';
import type { PartitionWriter } from './partition-writer.js';
import { SEGMENT_PATTERN, SEGMENT_SUFFIX, Segment, SWAP_PATTERN, segmentFileName } from './segment.js';

export interface CompactionSettings {
  readonly now: number;
  /** How long a tombstone stays after it was appended (Kafka's `delete.retention.ms`). */
  readonly deleteRetentionMs: number;
  readonly segmentBytes: number;
  readonly indexIntervalBytes: number;
  readonly durable: boolean;
}

/** Records in the closed segments before and after one compaction pass. */
export interface CompactionResult {
  readonly recordsBefore: number;
  readonly recordsAfter: number;
}

interface KeptBatch {
  readonly buf: Buffer;
  readonly header: BatchHeader;
}

interface Group {
  readonly inputs: Segment[];
  readonly batches: KeptBatch[];
  bytes: number;
}

function pad(offset: number): string {
  return String(offset).padStart(20, '0');
}

/** Compacts the closed segments of `part`. Call through `part.serialize`. */
export async function compactPartition(
  part: PartitionWriter,
  settings: CompactionSettings,
): Promise<CompactionResult> {
  const segments = part.segments;
  if (segments.length < 2) return { recordsBefore: 0, recordsAfter: 0 };
  const pinned: Segment[] = [];
  try {
    for (const s of segments) {
      if (!s.acquire()) throw new Error(`segment ${s.path} was replaced during compaction`);
      pinned.push(s);
    }
    const active = segments[segments.length - 1]!;
    const closed = segments.slice(0, -1);
    const latest = await latestOffsets(segments);
    let recordsBefore = 0;
    let recordsAfter = 0;
    let cleanBytes = 0;
    let tombstoneExpiry = Number.POSITIVE_INFINITY;
    let group: Group = { inputs: [], batches: [], bytes: 0 };
    for (const seg of closed) {
      recordsBefore += seg.records;
      const kept = await keptBatches(seg, latest, settings);
      tombstoneExpiry = Math.min(tombstoneExpiry, kept.tombstoneExpiry);
      if (group.inputs.length > 0 && group.bytes + kept.bytes > settings.segmentBytes) {
        cleanBytes += group.bytes;
        recordsAfter += await swapGroup(part, group, seg.baseOffset, settings);
        group = { inputs: [], batches: [], bytes: 0 };
      }
      group.inputs.push(seg);
      group.batches.push(...kept.batches);
      group.bytes += kept.bytes;
    }
    cleanBytes += group.bytes;
    recordsAfter += await swapGroup(part, group, active.baseOffset, settings);
    part.tombstoneExpiry = tombstoneExpiry;
    part.cleanBytes = cleanBytes;
    return { recordsBefore, recordsAfter };
  } finally {
    for (const s of pinned) s.release();
  }
}

/** The offset of the last record of every key, over all segments (the active one included). */
async function latestOffsets(segments: readonly Segment[]): Promise<Map<string, number>> {
  const latest = new Map<string, number>();
  for (const seg of segments) {
    for await (const b of batchesOf(seg, 0, seg.size)) {
      forEachRecord(b.buf, b.pos, (r) => {
        if (r.key !== null) latest.set(r.key, r.offset);
      });
    }
  }
  return latest;
}

async function keptBatches(
  seg: Segment,
  latest: Map<string, number>,
  settings: CompactionSettings,
): Promise<{ batches: KeptBatch[]; bytes: number; tombstoneExpiry: number }> {
  const batches: KeptBatch[] = [];
  let bytes = 0;
  let tombstoneExpiry = Number.POSITIVE_INFINITY;
  for await (const b of batchesOf(seg, 0, seg.size)) {
    const ranges: number[] = [];
    let keptBytes = 0;
    let first = 0;
    let max = Number.NEGATIVE_INFINITY;
    const expiry = b.header.appendTime + settings.deleteRetentionMs;
    forEachRecord(b.buf, b.pos, (r) => {
      const isLatest = r.key === null || latest.get(r.key) === r.offset;
      if (!isLatest || (r.isTombstone && expiry <= settings.now)) return;
      if (r.isTombstone) tombstoneExpiry = Math.min(tombstoneExpiry, expiry);
      if (ranges.length === 0) first = r.timestamp;
      if (r.timestamp > max) max = r.timestamp;
      ranges.push(r.start, r.end);
      keptBytes += r.end - r.start;
    });
    const count = ranges.length / 2;
    if (count === 0) continue;
    if (count === b.header.count) {
      batches.push({ buf: b.buf.subarray(b.pos, b.pos + b.header.length), header: b.header });
      bytes += b.header.length;
      continue;
    }
    const buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + keptBytes);
    let at = BATCH_HEADER_BYTES;
    for (let i = 0; i < ranges.length; i += 2) at += b.buf.copy(buf, at, ranges[i]!, ranges[i + 1]!);
    const header: BatchHeader = {
      ...b.header,
      length: buf.length,
      count,
      firstTimestamp: first,
      maxTimestamp: max,
    };
    sealBatch(buf, 0, header);
    batches.push({ buf, header });
    bytes += buf.length;
  }
  return { batches, bytes, tombstoneExpiry };
}

/** Replaces the group's segments, which cover [first base, end), by one cleaned segment. Returns the records kept. */
async function swapGroup(
  part: PartitionWriter,
  group: Group,
  end: number,
  settings: CompactionSettings,
): Promise<number> {
  if (group.inputs.length === 0) return 0;
  const dir = part.dir;
  const base = group.inputs[0]!.baseOffset;
  const target = join(dir, segmentFileName(base));
  try {
    if (group.batches.length === 0) {
      part.replaceSegments(group.inputs, undefined);
      for (const s of group.inputs) unlinkSync(s.path);
      if (settings.durable) syncDirSync(dir);
      return 0;
    }
    const cleaned = join(dir, `${pad(base)}.cleaned`);
    const swap = join(dir, `${pad(base)}-${pad(end)}.swap`);
    const fd = openSync(cleaned, 'w');
    try {
      await pwritevFully(
        fd,
        group.batches.map((b) => b.buf),
        0,
      );
      if (settings.durable) await fullsync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(cleaned, swap);
    for (const s of group.inputs) if (s.path !== target) unlinkSync(s.path);
    renameSync(swap, target);
    if (settings.durable) syncDirSync(dir);
    const seg = new Segment(dir, base, settings.indexIntervalBytes);
    seg.fd = openSync(target, 'r');
    let position = 0;
    for (const b of group.batches) {
      seg.noteBatch(position, b.header);
      position += b.header.length;
    }
    part.replaceSegments(group.inputs, seg);
    return seg.records;
  } catch (err) {
    throw storageErrorFrom(err, `compaction of ${part.topic}-${part.index} in ${dir}`);
  }
}

/**
 * Finishes compaction swaps a crash interrupted: a `<base>-<end>.swap` file
 * is a complete cleaned copy of the segments in [base, end), so the old
 * segments go and the swap takes the first one's name. `.cleaned` files are
 * unfinished copies and are dropped.
 */
export function recoverSwaps(dir: string): void {
  const names = readdirSync(dir);
  for (const name of names) {
    if (name.endsWith('.cleaned')) unlinkSync(join(dir, name));
  }
  for (const name of names) {
    const m = SWAP_PATTERN.exec(name);
    if (!m) continue;
    const base = Number(m[1]);
    const end = Number(m[2]);
    for (const other of names) {
      const s = SEGMENT_PATTERN.exec(other);
      if (s && Number(s[1]) > base && Number(s[1]) < end) unlinkSync(join(dir, other));
    }
    renameSync(join(dir, name), join(dir, `${m[1]}${SEGMENT_SUFFIX}`));
  }
}
