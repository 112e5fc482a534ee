/**
 * One segment file of a partition and its in-memory sparse index. The index
 * is rebuilt from batch headers on open, so no index file can disagree with
 * the data it indexes.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchHeader } from './format.js';

export const SEGMENT_SUFFIX = '.log';
/** `<base>.log`: a segment named by its first offset (20 digits). */
export const SEGMENT_PATTERN = /^(\d{20})\.log$/;
/** `<base>-<end>.swap`: a complete compacted copy of the segments in [base, end), about to replace them. */
export const SWAP_PATTERN = /^(\d{20})-(\d{20})\.swap$/;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}${SEGMENT_SUFFIX}`;
}

/** Index of the last element of a sorted array that is <= `value` (strictly < with `strict`), or -1. */
function lastAtMost(sorted: readonly number[], value: number, strict: boolean): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v < value || (!strict && v === value)) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export class Segment {
  readonly baseOffset: number;
  readonly path: string;
  /** Open descriptor, or -1 until a reader needs one (closed segments are opened lazily). */
  fd = -1;
  /** Bytes whose writes completed: readers never look past this. */
  size = 0;
  /** Offset after the last batch (the base offset while empty). */
  nextOffset: number;
  records = 0;
  maxTimestamp = -Infinity;
  firstAppendTime = 0;
  lastAppendTime = 0;
  /** Position of a batch header that could not be parsed; readers reaching it fail with CorruptDataError. */
  corruptAt = -1;
  /**
   * Read-only followers only: the inode of the file the index was built
   * from. The writer process may replace or delete the file (compaction,
   * retention), so a descriptor opened later must reach the same inode or
   * the index would point into another file. 0n: not checked (the writer's
   * own segments).
   */
  ino = 0n;
  /** Read-only followers only: the file's size at the last scan; bytes in [size, scannedFileSize) were an append not finished yet. */
  scannedFileSize = 0;
  private retired = false;

  private readonly indexInterval: number;
  private readonly idxOffset: number[] = [];
  private readonly idxPosition: number[] = [];
  private readonly idxMaxTsBefore: number[] = [];
  private lastIndexed = Number.NEGATIVE_INFINITY;
  private refs = 0;

  constructor(
    dir: string,
    baseOffset: number,
    indexInterval: number,
    fileName = segmentFileName(baseOffset),
  ) {
    this.baseOffset = baseOffset;
    this.path = join(dir, fileName);
    this.nextOffset = baseOffset;
    this.indexInterval = indexInterval;
  }

  /** Records a batch that now lies at `position` (on open, after a write, or in a compacted copy). */
  noteBatch(position: number, header: BatchHeader): void {
    if (position - this.lastIndexed >= this.indexInterval) {
      this.idxOffset.push(header.baseOffset);
      this.idxPosition.push(position);
      this.idxMaxTsBefore.push(this.maxTimestamp);
      this.lastIndexed = position;
    }
    if (header.maxTimestamp > this.maxTimestamp) this.maxTimestamp = header.maxTimestamp;
    if (this.firstAppendTime === 0) this.firstAppendTime = header.appendTime;
    if (header.appendTime > this.lastAppendTime) this.lastAppendTime = header.appendTime;
    this.nextOffset = header.baseOffset + header.lastOffsetDelta + 1;
    this.records += header.count;
    this.size = position + header.length;
  }

  /** A batch position at or before the batch holding `offset`. */
  positionForOffset(offset: number): number {
    const i = lastAtMost(this.idxOffset, offset, false);
    return i < 0 ? 0 : this.idxPosition[i]!;
  }

  /** A batch position before which every record's timestamp is < `timestamp`. */
  positionForTimestamp(timestamp: number): number {
    const i = lastAtMost(this.idxMaxTsBefore, timestamp, true);
    return i < 0 ? 0 : this.idxPosition[i]!;
  }

  /**
   * Pins the descriptor for a read; false when the segment was replaced
   * (re-resolve and retry) or, for a follower, its file is gone or is
   * another file now (re-list the partition and retry).
   */
  acquire(): boolean {
    if (this.retired) return false;
    if (this.fd < 0 && !this.openForRead()) return false;
    this.refs++;
    return true;
  }

  private openForRead(): boolean {
    if (this.ino === 0n) {
      this.fd = openSync(this.path, 'r');
      return true;
    }
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    if (fstatSync(fd, { bigint: true }).ino !== this.ino) {
      closeSync(fd);
      return false;
    }
    this.fd = fd;
    return true;
  }

  release(): void {
    this.refs--;
    if (this.retired && this.refs === 0) this.closeFd();
  }

  /** Removed from its partition (retention or compaction); the descriptor closes when the last reader is done. */
  retire(): void {
    this.retired = true;
    if (this.refs === 0) this.closeFd();
  }

  closeFd(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    closeSync(fd);
  }
}
