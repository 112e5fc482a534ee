/**
 * A topic-partition a read-only log follows: another process writes its
 * files, so this side never writes, and `refresh` takes in what that writer
 * did (appends, rolls, retention, compaction; see follow.ts).
 */
import { StorageError, storageErrorFrom } from '../../errors.js';
import type { LogRecord } from '../log.js';
import { catchUp, dirStamp, followSegments, type ProblemSink } from './follow.js';
import { PartitionReader, type PartitionSettings } from './partition-reader.js';
import type { Segment } from './segment.js';

/**
 * A followed partition: the shared read path over the segments as the
 * writer process last left them.
 *
 * @example
 * ```ts
 * const part = PartitionFollower.follow('rec.interactions', 0, dir, settings, report);
 * if (part?.refresh()) await part.readInto(from, 100, out);
 * ```
 */
export class PartitionFollower extends PartitionReader {
  /** Where corrupt batches found by `refresh` are reported. */
  private readonly report: ProblemSink;
  /** The directory stamp the segment list was taken at; undefined forces a re-list. */
  private listedStamp: string | undefined;

  private constructor(
    topic: string,
    index: number,
    dir: string,
    settings: PartitionSettings,
    segments: Segment[],
    report: ProblemSink,
  ) {
    super(topic, index, dir, settings, segments);
    this.report = report;
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
    report: ProblemSink,
  ): PartitionFollower | undefined {
    const stamp = dirStamp(dir);
    const segments = followSegments(dir, settings.indexIntervalBytes, [], report);
    if (segments === undefined) return undefined;
    const part = new PartitionFollower(topic, index, dir, settings, segments, report);
    part.listedStamp = stamp?.settled ? stamp.value : undefined;
    return part;
  }

  /**
   * Takes in what the writer process did since the last look (appends,
   * rolls, retention, compaction). While the directory is unchanged that is
   * one stat of it and one of the newest segment. Returns whether the
   * readable range moved. `relist` forces a fresh listing (a segment file
   * turned out to be gone or replaced).
   */
  override refresh(relist = false): boolean {
    if (this.closed) return false;
    const start = this.start;
    const end = this.end;
    try {
      const stamp = dirStamp(this.dir);
      const unchanged = !relist && stamp !== undefined && stamp.value === this.listedStamp;
      if (!unchanged || !catchUp(this.active, true, this.report)) {
        const previous = this.segments;
        const next = followSegments(this.dir, this.settings.indexIntervalBytes, previous, this.report);
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

  /** Reaching the end it knows, the follower looks for newer appends first. */
  override async readInto(from: number, max: number, out: LogRecord[]): Promise<number> {
    const next = await this.readKnown(from, max, out);
    if (out.length >= max || !this.refresh()) return next;
    return this.readKnown(next, max, out);
  }

  protected override pin(seg: Segment): boolean {
    if (super.pin(seg)) return true;
    // The writer process deleted or replaced the file: list the segments again before the caller re-resolves.
    this.refresh(true);
    if (this.segments.includes(seg))
      throw new StorageError(`${this.where(seg)}: the segment is listed but its file cannot be opened`);
    return false;
  }

  /** Closes every descriptor, each once its last reader is done. */
  close(): Promise<void> {
    this.closed = true;
    for (const s of this.segments) s.retire();
    return Promise.resolve();
  }
}
