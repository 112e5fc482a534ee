/**
 * The read path of one topic-partition, shared by the partition a writing
 * log owns (partition-writer.ts) and the one a read-only log follows
 * (partition-follower.ts): the segment list, the readable range, reads by
 * offset and by timestamp. Segments are pinned while read, so maintenance
 * (the writer's, or the writer process's) may replace them meanwhile.
 */
import { CorruptDataError, LogUsageError } from '../../errors.js';
import type { LogRecord } from '../log.js';
import { batchesOf } from './batch-iterator.js';
import { BATCH_HEADER_BYTES, batchCrcMatches, batchLastOffset, batchLength, decodeBatch } from './format.js';
import { preadFully } from './io.js';
import type { Segment } from './segment.js';

/** Settings every partition of a log shares. */
export interface PartitionSettings {
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly indexIntervalBytes: number;
  /** fdatasync before acknowledging each write. */
  readonly syncEachWrite: boolean;
  /** fsync on roll, compaction and directory changes (any mode but `never`). */
  readonly durable: boolean;
}

const MIN_READ_BYTES = 64 * 1024;
const MAX_READ_BYTES = 16 * 1024 * 1024;

function segmentIndexFor(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * A topic-partition as readers see it.
 *
 * @example
 * ```ts
 * const out: LogRecord[] = [];
 * const next = await part.readInto(part.start, 100, out);
 * ```
 */
export abstract class PartitionReader {
  readonly topic: string;
  readonly index: number;
  readonly dir: string;
  /** Oldest first; the last is the active segment. Replaced, never mutated, so readers can keep a snapshot. */
  segments: readonly Segment[];

  protected readonly settings: PartitionSettings;
  protected avgRecordBytes = 128;
  protected closed = false;

  protected constructor(
    topic: string,
    index: number,
    dir: string,
    settings: PartitionSettings,
    segments: readonly Segment[],
  ) {
    this.topic = topic;
    this.index = index;
    this.dir = dir;
    this.settings = settings;
    this.segments = segments;
    this.updateAverage();
  }

  /**
   * Takes in what a writer in another process did since the last look;
   * returns whether the readable range moved. A partition its own log
   * writes is always current: nothing to take in.
   */
  refresh(): boolean {
    return false;
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** First readable offset. */
  get start(): number {
    return this.segments[0]!.baseOffset;
  }

  /** Next offset to be written; everything below it is readable. */
  get end(): number {
    return this.active.nextOffset;
  }

  /** Pins `seg` for reading; false when maintenance replaced it (the caller re-resolves from `segments`). */
  protected pin(seg: Segment): boolean {
    if (seg.acquire()) return true;
    if (this.closed) throw new LogUsageError(`${this.topic}-${this.index} is closed`);
    return false;
  }

  protected where(seg: Segment): string {
    return `${this.topic}-${this.index} (${seg.path})`;
  }

  protected updateAverage(): void {
    let bytes = 0;
    let records = 0;
    for (const s of this.segments) {
      bytes += s.size;
      records += s.records;
    }
    if (records > 0) this.avgRecordBytes = Math.max(32, bytes / records);
  }

  /**
   * Appends records with offsets >= `from` to `out` until it holds `max`.
   * Returns the offset to continue from (past any compaction gap it crossed).
   */
  readInto(from: number, max: number, out: LogRecord[]): Promise<number> {
    return this.readKnown(from, max, out);
  }

  /** `readInto` over the segments this reader knows of now. */
  protected async readKnown(from: number, max: number, out: LogRecord[]): Promise<number> {
    let next = from;
    while (out.length < max && next < this.end) {
      const segments = this.segments;
      const i = segmentIndexFor(segments, next);
      const seg = segments[i]!;
      if (!this.pin(seg)) continue;
      let after: number;
      try {
        after = await this.readSegment(seg, Math.max(next, seg.baseOffset), max, out);
      } finally {
        seg.release();
      }
      if (out.length >= max) return after;
      const following = segments[i + 1];
      if (following) next = Math.max(after, following.baseOffset);
      else if (after === next) return after;
      else next = after;
    }
    return next;
  }

  private async readSegment(seg: Segment, from: number, max: number, out: LogRecord[]): Promise<number> {
    const limit = seg.size;
    let next = from;
    let position = seg.positionForOffset(from);
    let need = 0;
    const where = () => this.where(seg);
    while (position < limit && out.length < max) {
      const estimate = Math.ceil((max - out.length) * this.avgRecordBytes) + BATCH_HEADER_BYTES;
      const want = Math.min(
        limit - position,
        Math.max(need, MIN_READ_BYTES, Math.min(estimate, MAX_READ_BYTES)),
      );
      const buf = Buffer.allocUnsafeSlow(want);
      const got = await preadFully(seg.fd, buf, 0, want, position);
      if (got < want)
        throw new CorruptDataError(
          `${where()}: file ends at byte ${position + got}, before the ${limit} bytes the log wrote`,
        );
      let p = 0;
      while (p + BATCH_HEADER_BYTES <= want) {
        const length = batchLength(buf, p);
        if (length < BATCH_HEADER_BYTES || position + p + length > limit) {
          throw new CorruptDataError(`${where()}: unreadable batch header at byte ${position + p}`);
        }
        if (p + length > want) {
          if (p === 0) need = length;
          break;
        }
        const last = batchLastOffset(buf, p);
        if (last >= next) {
          if (!batchCrcMatches(buf, p, length)) {
            throw new CorruptDataError(
              `${where()}: batch at byte ${position + p} fails its CRC check (offsets from ${next})`,
            );
          }
          const lastPushed = decodeBatch(buf, p, this.topic, this.index, next, max, out, where);
          if (out.length >= max) return lastPushed + 1;
          next = last + 1;
        }
        p += length;
      }
      position += p;
    }
    if (position >= limit && seg.corruptAt >= 0) {
      throw new CorruptDataError(`${where()}: unreadable batch header at byte ${seg.corruptAt}`);
    }
    return next;
  }

  /** First offset whose timestamp is >= `timestamp`, or the end offset. */
  async offsetForTimestamp(timestamp: number): Promise<number> {
    for (;;) {
      const segments = this.segments;
      let retry = false;
      for (const seg of segments) {
        if (seg.maxTimestamp < timestamp) continue;
        if (!this.pin(seg)) {
          retry = true;
          break;
        }
        try {
          for await (const b of batchesOf(seg, seg.positionForTimestamp(timestamp))) {
            if (b.header.maxTimestamp < timestamp) continue;
            const records: LogRecord[] = [];
            decodeBatch(b.buf, b.pos, this.topic, this.index, 0, b.header.count, records, () =>
              this.where(seg),
            );
            const hit = records.find((r) => r.timestamp >= timestamp);
            if (hit) return hit.offset;
          }
        } finally {
          seg.release();
        }
      }
      if (!retry) return this.end;
    }
  }
}
