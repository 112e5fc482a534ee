/**
 * How a read-only reader ("follower") sees a partition that a writer in
 * another process keeps changing. The follower writes nothing, so it cannot
 * repair anything either; instead it treats every change as one of the
 * writer's own steps:
 *
 * - bytes past the last complete, CRC-valid batch of the newest segment are
 *   an append still in flight (or one a crash cut short, which the writer
 *   truncates when it reopens): not written yet, and never cut;
 * - a new `<base>.log` is a roll;
 * - a segment file that vanished was deleted by retention or compaction;
 * - a `<base>.log` with another inode, or a `<base>-<end>.swap`, is a
 *   compacted copy replacing the segments in its range.
 */
import { fstatSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../../errors.js';
import { type ScanProblem, scanSegment } from './scan.js';
import { SEGMENT_PATTERN, Segment, SWAP_PATTERN } from './segment.js';

/** Receives a corrupt batch a follower found, once. */
export type ProblemSink = (problem: ScanProblem & { readonly file: string }) => void;

interface SegmentFile {
  readonly base: number;
  readonly name: string;
}

/** A directory whose last change is younger than this may change again within one tick of its coarse timestamps, unseen. */
const SETTLE_MS = 1000;
const MAX_LISTING_ATTEMPTS = 20;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * The partition directory's change stamp. Segment files are created,
 * renamed and deleted in it, so while the stamp stays the same only the
 * newest segment can have grown. `settled` is false while the last change
 * is too recent to trust the stamp.
 */
export function dirStamp(dir: string): { readonly value: string; readonly settled: boolean } | undefined {
  const st = statSync(dir, { bigint: true, throwIfNoEntry: false });
  if (st === undefined) return undefined;
  return {
    value: `${st.ino}:${st.mtimeNs}:${st.ctimeNs}`,
    settled: Date.now() - Number(st.mtimeMs) >= SETTLE_MS,
  };
}

/** The segment files of `dir` by base offset; undefined when the directory is gone. */
function segmentFiles(dir: string): SegmentFile[] | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  const logs: SegmentFile[] = [];
  const swaps: { base: number; end: number; name: string }[] = [];
  for (const name of names) {
    const log = SEGMENT_PATTERN.exec(name);
    if (log) logs.push({ base: Number(log[1]), name });
    const swap = SWAP_PATTERN.exec(name);
    if (swap) swaps.push({ base: Number(swap[1]), end: Number(swap[2]), name });
  }
  // A swap is complete once it has that name; the writer is removing the segments it replaces, so it already stands for them.
  const files = logs.filter((l) => !swaps.some((s) => l.base >= s.base && l.base < s.end));
  for (const s of swaps) files.push({ base: s.base, name: s.name });
  return files.sort((a, b) => a.base - b.base);
}

/** Indexes the bytes of `seg` past what it already holds, up to `fileSize`. */
function scanNew(seg: Segment, fileSize: number, isLast: boolean, report: ProblemSink): void {
  const result = scanSegment(seg, fileSize, isLast, seg.size);
  seg.scannedFileSize = fileSize;
  // A torn tail here is an append the writer has not finished: not an error, and not ours to cut.
  for (const p of result.problems) if (p.kind === 'corrupt') report({ ...p, file: seg.path });
}

/** Opens and indexes one segment file; undefined when it vanished before it could be opened. */
function openSegment(
  dir: string,
  file: SegmentFile,
  indexInterval: number,
  isLast: boolean,
  report: ProblemSink,
): Segment | undefined {
  const seg = new Segment(dir, file.base, indexInterval, file.name);
  try {
    seg.fd = openSync(seg.path, 'r');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  try {
    const st = fstatSync(seg.fd, { bigint: true });
    seg.ino = st.ino;
    scanNew(seg, Number(st.size), isLast, report);
  } catch (err) {
    seg.closeFd();
    throw err;
  }
  // Like the writer, keep only the newest segment open; older ones open on first read (checked by inode).
  if (!isLast) seg.closeFd();
  return seg;
}

/**
 * Indexes what the writer appended to `seg` since the last look. False when
 * the file is gone, replaced, or shorter than what was indexed (the writer
 * cut off a failed write): it must be read afresh.
 */
export function catchUp(seg: Segment, isLast: boolean, report: ProblemSink): boolean {
  if (!seg.acquire()) return false;
  try {
    const size = fstatSync(seg.fd).size;
    if (size < seg.size) return false;
    if (size !== seg.scannedFileSize) scanNew(seg, size, isLast, report);
    return true;
  } finally {
    seg.release();
  }
}

function sameFile(seg: Segment): boolean {
  return statSync(seg.path, { bigint: true, throwIfNoEntry: false })?.ino === seg.ino;
}

/**
 * Lists the segments of a followed partition, reusing the ones in
 * `previous` whose file is unchanged. Undefined when the directory holds no
 * segment (yet). A file that vanishes while being listed, or a listing
 * whose segments overlap (compaction swapped files in between), is listed
 * again; the caller retires the previous segments that are not reused.
 */
export function followSegments(
  dir: string,
  indexInterval: number,
  previous: readonly Segment[],
  report: ProblemSink,
): Segment[] | undefined {
  const byBase = new Map(previous.map((s) => [s.baseOffset, s]));
  const newest = previous[previous.length - 1];
  for (let attempt = 0; attempt < MAX_LISTING_ATTEMPTS; attempt++) {
    const files = segmentFiles(dir);
    if (files === undefined || files.length === 0) return undefined;
    const listed: Segment[] = [];
    const opened: Segment[] = [];
    let consistent = true;
    for (const [i, file] of files.entries()) {
      const isLast = i === files.length - 1;
      const old = byBase.get(file.base);
      // Closed segments never change in place; only the one that was newest can have grown.
      let seg =
        old !== undefined &&
        old.path === join(dir, file.name) &&
        sameFile(old) &&
        (old !== newest || catchUp(old, isLast, report))
          ? old
          : undefined;
      if (seg === undefined) {
        seg = openSegment(dir, file, indexInterval, isLast, report);
        if (seg === undefined) {
          consistent = false;
          break;
        }
        opened.push(seg);
      }
      const before = listed[listed.length - 1];
      if (before !== undefined && before.nextOffset > seg.baseOffset) {
        consistent = false;
        break;
      }
      listed.push(seg);
    }
    if (consistent) return listed;
    for (const s of opened) s.retire();
  }
  throw new StorageError(
    `the segment files in ${dir} kept changing while a read-only reader listed them; try again`,
    undefined,
    true,
  );
}
