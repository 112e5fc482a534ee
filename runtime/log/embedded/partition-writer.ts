/**
 * One topic-partition of a writing log: a directory of segment files and
 * the append queue that writes them, with the read path it shares with
 * followers (partition-reader.ts). Appends are written by a single writer
 * loop, one `writev` per round; batches queued while a write is in flight go
 * out together in the next round (group commit), each still a whole batch.
 */
import { fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { StorageError, storageErrorFrom } from '../../errors.js';
import type { AppendAck } from '../log.js';
import { recoverSwaps } from './compaction.js';
import type { EncodedBatch } from './encode.js';
import { type BatchHeader, sealBatch } from './format.js';
import { datasync, pwritevFully, syncDirSync } from './io.js';
import { PartitionReader, type PartitionSettings } from './partition-reader.js';
import { type ScanProblem, scanSegment } from './scan.js';
import { SEGMENT_PATTERN, Segment } from './segment.js';

/** What a partition reports to its log. */
export interface PartitionEvents {
  /** New records became readable. */
  appended(): void;
  /** The active segment was closed. */
  rolled(partition: PartitionWriter): void;
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

/**
 * A partition this process writes.
 *
 * @example
 * ```ts
 * const part = PartitionWriter.open('rec.interactions', 0, dir, settings, events, problems);
 * const ack = await part.enqueue(batch);
 * ```
 */
export class PartitionWriter extends PartitionReader {
  /** Bytes of the closed segments the last compaction wrote; the rest of the closed bytes are dirty. */
  cleanBytes = 0;
  /** When the oldest tombstone kept by the last compaction may be dropped. */
  tombstoneExpiry = Number.POSITIVE_INFINITY;
  /** Written since the last fsync. */
  unsynced = false;

  private readonly events: PartitionEvents;
  private queue: PendingAppend[] = [];
  private writing = false;
  private idleWaiters: (() => void)[] = [];
  private broken: StorageError | undefined;
  private maintenance: Promise<unknown> = Promise.resolve();

  private constructor(
    topic: string,
    index: number,
    dir: string,
    settings: PartitionSettings,
    events: PartitionEvents,
    segments: Segment[],
  ) {
    super(topic, index, dir, settings, segments);
    this.events = events;
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
  ): PartitionWriter {
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
    return new PartitionWriter(topic, index, dir, settings, events, segments);
  }

  /** Share of the closed segments' bytes written since the last compaction (Kafka's dirty ratio). */
  dirtyRatio(): number {
    let closed = 0;
    for (let i = 0; i < this.segments.length - 1; i++) closed += this.segments[i]!.size;
    return closed === 0 ? 0 : Math.max(0, closed - this.cleanBytes) / closed;
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
