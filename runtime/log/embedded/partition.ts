/**
 * One topic-partition: a directory of segment files, the append queue that
 * writes them, and the read path. Appends are written by a single writer
 * loop, one `writev` per round; batches queued while a write is in flight go
 * out together in the next round (group commit), each still a whole batch.
 */
import { fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptDataError, LogUsageError, StorageError, storageErrorFrom } from '../../errors.js';
import type { AppendAck, LogRecord } from '../log.js';
import { batchesOf } from './batch-iterator.js';
import type { EncodedBatch } from './encode.js';
import { catchUp, dirStamp, followSegments, type ProblemSink } from './follow.js';
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchCrcMatches,
  batchLastOffset,
  batchLength,
  decodeBatch,
  sealBatch,
} from './format.js';
import { datasync, preadFully, pwritevFully, syncDirSync } from './io.js';
import { type ScanProblem, scanSegment } from './scan.js';
import { SEGMENT_PATTERN, SEGMENT_SUFFIX, Segment, SWAP_PATTERN } from './segment.js';

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

/** What a partition reports to its log. */
export interface PartitionEvents {
  /** New records became readable. */
  appended(): void;
  /** The active segment was closed. */
  rolled(partition: Partition): void;
}

/** A problem found while opening, for the log's warnings. */
export interface PartitionProblem extends ScanProblem {
  readonly file: string;
}

interface PendingAppend {
  readonly batch: EncodedBatch;
  readonly resolve: (ack: AppendAck) => void;
  readonly reject: (err: unknown) => void;
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

export class Partition {
  readonly topic: string;
  readonly index: number;
  readonly dir: string;
  /**
   * Opened by a read-only log: another process writes the files, so this
   * partition never writes, and `refresh` takes in what that writer did.
   */
  readonly follower: boolean;
  /** Oldest first; the last is the active segment. Replaced, never mutated, so readers can keep a snapshot. */
  segments: readonly Segment[];
  /** Bytes of the closed segments the last compaction wrote; the rest of the closed bytes are dirty. */
  cleanBytes = 0;
  /** When the oldest tombstone kept by the last compaction may be dropped. */
  tombstoneExpiry = Number.POSITIVE_INFINITY;
  /** Written since the last fsync. */
  unsynced = false;

  private readonly settings: PartitionSettings;
  private readonly events: PartitionEvents;
  private queue: PendingAppend[] = [];
  private writing = false;
  private idleWaiters: (() => void)[] = [];
  private broken: StorageError | undefined;
  private maintenance: Promise<unknown> = Promise.resolve();
  private avgRecordBytes = 128;
  private closed = false;
  /** Follower only: where corrupt batches found by `refresh` are reported. */
  private readonly report: ProblemSink | undefined;
  /** Follower only: the directory stamp the segment list was taken at; undefined forces a re-list. */
  private listedStamp: string | undefined;

  private constructor(
    topic: string,
    index: number,
    dir: string,
    settings: PartitionSettings,
    events: PartitionEvents,
    segments: Segment[],
    report?: ProblemSink,
  ) {
    this.topic = topic;
    this.index = index;
    this.dir = dir;
    this.settings = settings;
    this.events = events;
    this.segments = segments;
    this.follower = report !== undefined;
    this.report = report;
    this.updateAverage();
  }

  /**
   * Opens (or creates) the partition in `dir`: finishes an interrupted
   * compaction swap, scans every segment, cuts a torn tail off the last one.
   */
  static open(
    topic: string,
    index: number,
    dir: string,
    settings: PartitionSettings,
    events: PartitionEvents,
    problems: PartitionProblem[],
  ): Partition {
    mkdirSync(dir, { recursive: true });
    recoverSwaps(dir);
    const bases = readdirSync(dir)
      .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
      .filter((base): base is string => base !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const segments: Segment[] = [];
    for (let i = 0; i < bases.length; i++) {
      const isLast = i === bases.length - 1;
      const seg = new Segment(dir, bases[i]!, settings.indexIntervalBytes);
      seg.fd = openSync(seg.path, isLast ? 'r+' : 'r');
      const fileSize = fstatSync(seg.fd).size;
      const result = scanSegment(seg, fileSize, isLast);
      for (const p of result.problems) problems.push({ ...p, file: seg.path });
      if (result.validBytes < fileSize) ftruncateSync(seg.fd, result.validBytes);
      if (!isLast) seg.closeFd();
      segments.push(seg);
    }
    if (segments.length === 0) {
      const seg = new Segment(dir, 0, settings.indexIntervalBytes);
      seg.fd = openSync(seg.path, 'wx+');
      segments.push(seg);
      if (settings.durable) syncDirSync(dir);
    }
    return new Partition(topic, index, dir, settings, events, segments);
  }

  /**
   * Opens the partition in `dir` read-only, as a follower of the process
   * that writes it: nothing is created, truncated or recovered. Undefined
   * while the directory holds no segment yet (a topic being created).
   */
  static follow(
    topic: string,
    index: number,
    dir: string,
    settings: PartitionSettings,
    events: PartitionEvents,
    report: ProblemSink,
  ): Partition | undefined {
    const stamp = dirStamp(dir);
    const segments = followSegments(dir, settings.indexIntervalBytes, [], report);
    if (segments === undefined) return undefined;
    const part = new Partition(topic, index, dir, settings, events, segments, report);
    part.listedStamp = stamp?.settled ? stamp.value : undefined;
    return part;
  }

  /**
   * Follower only: takes in what the writer process did since the last look
   * (appends, rolls, retention, compaction). While the directory is
   * unchanged that is one stat of it and one of the newest segment. Returns
   * whether the readable range moved. `relist` forces a fresh listing (a
   * segment file turned out to be gone or replaced).
   */
  refresh(relist = false): boolean {
    if (!this.follower || this.closed) return false;
    const start = this.start;
    const end = this.end;
    try {
      const stamp = dirStamp(this.dir);
      const unchanged = !relist && stamp !== undefined && stamp.value === this.listedStamp;
      if (!unchanged || !catchUp(this.active, true, this.report!)) {
        const previous = this.segments;
        const next = followSegments(this.dir, this.settings.indexIntervalBytes, previous, this.report!);
        if (next !== undefined) {
          this.segments = next;
          const kept = new Set(next);
          for (const s of previous) if (!kept.has(s)) s.retire();
        }
        this.listedStamp = stamp?.settled ? stamp.value : undefined;
      }
    } catch (err) {
      throw storageErrorFrom(err, `cannot follow ${this.topic}-${this.index} in ${this.dir}`);
    }
    const moved = this.start !== start || this.end !== end;
    if (moved) this.updateAverage();
    return moved;
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

  /** Share of the closed segments' bytes written since the last compaction (Kafka's dirty ratio). */
  dirtyRatio(): number {
    let closed = 0;
    for (let i = 0; i < this.segments.length - 1; i++) closed += this.segments[i]!.size;
    return closed === 0 ? 0 : Math.max(0, closed - this.cleanBytes) / closed;
  }

  /** Pins `seg` for reading; false when maintenance replaced it (the caller re-resolves from `segments`). */
  private pin(seg: Segment): boolean {
    if (seg.acquire()) return true;
    if (this.closed) throw new LogUsageError(`${this.topic}-${this.index} is closed`);
    if (this.follower) {
      // The writer process deleted or replaced the file: list the segments again before the caller re-resolves.
      this.refresh(true);
      if (this.segments.includes(seg))
        throw new StorageError(`${this.where(seg)}: the segment is listed but its file cannot be opened`);
    }
    return false;
  }

  private where(seg: Segment): string {
    return `${this.topic}-${this.index} (${seg.path})`;
  }

  private updateAverage(): void {
    let bytes = 0;
    let records = 0;
    for (const s of this.segments) {
      bytes += s.size;
      records += s.records;
    }
    if (records > 0) this.avgRecordBytes = Math.max(32, bytes / records);
  }

  // ---- append -------------------------------------------------------------

  /** Queues a batch; resolves once it is written (and fsynced with `fsync: 'always'`). */
  enqueue(batch: EncodedBatch): Promise<AppendAck> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<AppendAck>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        if (this.broken) {
          const failed = this.queue;
          this.queue = [];
          for (const p of failed) p.reject(this.broken);
          break;
        }
        const first = this.queue[0]!.batch.buf.length;
        const active = this.active;
        if (
          active.size > 0 &&
          (active.size + first > this.settings.segmentBytes ||
            Date.now() - active.firstAppendTime >= this.settings.segmentMs)
        ) {
          try {
            await this.rollActive();
          } catch (err) {
            const failed = this.queue;
            this.queue = [];
            const error = storageErrorFrom(
              err,
              `cannot roll a new segment for ${this.topic}-${this.index} in ${this.dir}`,
            );
            for (const p of failed) p.reject(error);
            break;
          }
        }
        await this.writeRound();
      }
    } finally {
      this.writing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private takeRound(active: Segment): PendingAppend[] {
    let bytes = active.size;
    let n = 0;
    while (n < this.queue.length) {
      const len = this.queue[n]!.batch.buf.length;
      if (n > 0 && bytes + len > this.settings.segmentBytes) break;
      bytes += len;
      n++;
    }
    const round = this.queue.slice(0, n);
    this.queue = n === this.queue.length ? [] : this.queue.slice(n);
    return round;
  }

  private async writeRound(): Promise<void> {
    const active = this.active;
    const round = this.takeRound(active);
    const headers: BatchHeader[] = [];
    const buffers: Buffer[] = [];
    let base = active.nextOffset;
    for (const { batch } of round) {
      const header: BatchHeader = {
        length: batch.buf.length,
        count: batch.count,
        baseOffset: base,
        lastOffsetDelta: batch.count - 1,
        firstTimestamp: batch.firstTimestamp,
        maxTimestamp: batch.maxTimestamp,
        appendTime: batch.appendTime,
      };
      sealBatch(batch.buf, 0, header);
      headers.push(header);
      buffers.push(batch.buf);
      base += batch.count;
    }
    const position = active.size;
    try {
      await pwritevFully(active.fd, buffers, position);
      if (this.settings.syncEachWrite) await datasync(active.fd);
    } catch (err) {
      this.failRound(active, position, round, err);
      return;
    }
    let pos = position;
    for (const header of headers) {
      active.noteBatch(pos, header);
      pos += header.length;
    }
    this.unsynced = !this.settings.syncEachWrite;
    this.avgRecordBytes = Math.max(
      32,
      (this.avgRecordBytes * 7 + (pos - position) / Math.max(1, base - headers[0]!.baseOffset)) / 8,
    );
    this.events.appended();
    for (let i = 0; i < round.length; i++) {
      round[i]!.resolve({
        partition: this.index,
        baseOffset: headers[i]!.baseOffset,
        count: headers[i]!.count,
      });
    }
  }

  /**
   * A failed write may have left part of the round in the file. Cut it off
   * so the next append starts on a batch boundary; if even that fails, the
   * partition refuses appends until the log is reopened (open truncates a
   * torn tail).
   */
  private failRound(active: Segment, position: number, round: PendingAppend[], err: unknown): void {
    const error = storageErrorFrom(err, `append to ${this.topic}-${this.index} failed (${active.path})`);
    try {
      ftruncateSync(active.fd, position);
    } catch (truncateErr) {
      this.broken = new StorageError(
        `${this.topic}-${this.index}: a write failed (${error.message}) and the partial batch could not be cut off (${(truncateErr as Error).message}); the partition refuses appends until the log is reopened`,
        err,
      );
    }
    for (const p of round) p.reject(error);
  }

  private async rollActive(): Promise<void> {
    const old = this.active;
    const next = new Segment(this.dir, old.nextOffset, this.settings.indexIntervalBytes);
    next.fd = openSync(next.path, 'wx+');
    if (this.settings.durable) {
      await datasync(old.fd);
      syncDirSync(this.dir);
    }
    this.segments = [...this.segments, next];
    this.events.rolled(this);
  }

  /** Resolves when no write is in flight. */
  private idle(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs `fn` with the writer loop parked, then resumes queued appends. */
  private async exclusiveWriter<T>(fn: () => Promise<T>): Promise<T> {
    while (this.writing) await this.idle();
    this.writing = true;
    try {
      return await fn();
    } finally {
      this.writing = false;
      if (this.queue.length > 0) void this.drain();
      else {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /** Closes the active segment if it holds anything, so all data so far is eligible for compaction and retention. */
  roll(): Promise<void> {
    return this.exclusiveWriter(async () => {
      if (this.active.size > 0) await this.rollActive();
    });
  }

  /** fdatasync of the active segment, for the interval fsync mode and close. */
  async sync(): Promise<void> {
    if (!this.unsynced) return;
    this.unsynced = false;
    const active = this.active;
    if (active.acquire()) {
      try {
        await datasync(active.fd);
      } finally {
        active.release();
      }
    }
  }

  /** Waits for queued appends and maintenance, then closes every descriptor (each once its last reader is done). */
  async close(): Promise<void> {
    while (this.writing) await this.idle();
    await this.maintenance;
    if (this.settings.durable) await this.sync();
    this.closed = true;
    for (const s of this.segments) s.retire();
  }

  // ---- read ---------------------------------------------------------------

  /**
   * Appends records with offsets >= `from` to `out` until it holds `max`.
   * Returns the offset to continue from (past any compaction gap it crossed).
   * A follower that reaches the end it knows looks for newer appends first.
   */
  readInto(from: number, max: number, out: LogRecord[]): Promise<number> {
    return this.follower ? this.readFollowing(from, max, out) : this.readKnown(from, max, out);
  }

  private async readFollowing(from: number, max: number, out: LogRecord[]): Promise<number> {
    const next = await this.readKnown(from, max, out);
    if (out.length >= max || !this.refresh()) return next;
    return this.readKnown(next, max, out);
  }

  private async readKnown(from: number, max: number, out: LogRecord[]): Promise<number> {
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

  // ---- maintenance ----------------------------------------------------------

  /** Runs maintenance tasks (retention, compaction) one at a time. */
  serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.maintenance.then(task, task);
    this.maintenance = run.catch(() => undefined);
    return run;
  }

  /**
   * Swaps `old` (consecutive segments) for `replacement` in the segment list,
   * retiring the old ones. Only maintenance calls this, serialized.
   */
  replaceSegments(old: readonly Segment[], replacement: Segment | undefined): void {
    const at = this.segments.indexOf(old[0]!);
    if (at < 0 || this.segments[at + old.length - 1] !== old[old.length - 1]) {
      throw new Error(`segment list of ${this.topic}-${this.index} changed under maintenance`);
    }
    const next = [...this.segments];
    next.splice(at, old.length, ...(replacement ? [replacement] : []));
    this.segments = next;
    for (const s of old) s.retire();
    this.updateAverage();
  }

  /** Deletes whole closed segments past the time or size limit; the active segment always stays. */
  applyRetention(
    retentionMs: number | undefined,
    retentionBytes: number | undefined,
    now: number,
  ): Promise<number> {
    return this.serialize(async () => {
      const segments = this.segments;
      let drop = 0;
      if (retentionMs !== undefined) {
        while (drop < segments.length - 1 && segments[drop]!.lastAppendTime < now - retentionMs) drop++;
      }
      if (retentionBytes !== undefined) {
        let total = 0;
        for (let i = drop; i < segments.length; i++) total += segments[i]!.size;
        while (drop < segments.length - 1 && total - segments[drop]!.size >= retentionBytes) {
          total -= segments[drop]!.size;
          drop++;
        }
      }
      if (drop === 0) return 0;
      const removed = segments.slice(0, drop);
      this.replaceSegments(removed, undefined);
      this.cleanBytes = Math.max(0, this.cleanBytes - removed.reduce((n, s) => n + s.size, 0));
      for (const s of removed) {
        try {
          unlinkSync(s.path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
            throw storageErrorFrom(err, `cannot delete expired segment ${s.path}`);
        }
      }
      if (this.settings.durable) syncDirSync(this.dir);
      return removed.reduce((n, s) => n + s.records, 0);
    });
  }
}

/**
 * Finishes compaction swaps a crash interrupted: a `<base>-<end>.swap` file
 * is a complete cleaned copy of the segments in [base, end), so the old
 * segments go and the swap takes the first one's name. `.cleaned` files are
 * unfinished copies and are dropped.
 */
function recoverSwaps(dir: string): void {
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
