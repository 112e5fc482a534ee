/**
 * Rebuilds a segment's index on open by walking its batch headers in large
 * sequential reads. The last segment of a partition is also CRC-checked,
 * because that is where a crash leaves a torn batch.
 */
import { readSync } from 'node:fs';
import { BATCH_HEADER_BYTES, batchCrcMatches, readBatchHeader } from './format.js';
import type { Segment } from './segment.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

/** Something found while scanning; `torn` problems are cut off the file by the caller. */
export interface ScanProblem {
  readonly kind: 'torn' | 'corrupt';
  readonly position: number;
  readonly reason: string;
}

export interface ScanResult {
  /** Bytes to keep: the file size, or the position of a torn tail. */
  readonly validBytes: number;
  readonly problems: ScanProblem[];
}

/**
 * Scans `seg` (its descriptor must be open) over `fileSize` bytes, from
 * byte `startAt` (a batch boundary the index already reaches; a read-only
 * follower scans only what the writer appended since its last look).
 * With `isLast`, unreadable bytes at the end are a torn tail; in earlier
 * segments they are corruption that readers will report.
 */
export function scanSegment(seg: Segment, fileSize: number, isLast: boolean, startAt = 0): ScanResult {
  const problems: ScanProblem[] = [];
  let buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(fileSize - startAt, BATCH_HEADER_BYTES)));
  let bufStart = 0;
  let bufEnd = 0;
  let pos = startAt;
  const load = (from: number, need: number): void => {
    if (buf.length < need) buf = Buffer.allocUnsafe(need);
    const want = Math.min(buf.length, fileSize - from);
    let got = 0;
    while (got < want) {
      const n = readSync(seg.fd, buf, got, want - got, from + got);
      if (n === 0) break;
      got += n;
    }
    bufStart = from;
    bufEnd = from + got;
  };
  const stop = (reason: string): ScanResult => {
    if (isLast) {
      problems.push({ kind: 'torn', position: pos, reason });
      return { validBytes: pos, problems };
    }
    seg.corruptAt = pos;
    problems.push({ kind: 'corrupt', position: pos, reason });
    return { validBytes: fileSize, problems };
  };
  while (pos < fileSize) {
    if (fileSize - pos < BATCH_HEADER_BYTES)
      return stop(`${fileSize - pos} trailing bytes are shorter than a batch header`);
    if (pos + BATCH_HEADER_BYTES > bufEnd) load(pos, BATCH_HEADER_BYTES);
    const header = readBatchHeader(buf, pos - bufStart);
    if (!header) return stop('bytes that are not a batch header');
    if (header.baseOffset < seg.nextOffset)
      return stop(`batch base offset ${header.baseOffset} goes back before ${seg.nextOffset}`);
    if (pos + header.length > fileSize)
      return stop(`batch of ${header.length} bytes runs past the end of the file`);
    if (isLast) {
      if (pos + header.length > bufEnd) load(pos, header.length);
      if (!batchCrcMatches(buf, pos - bufStart, header.length)) {
        if (pos + header.length === fileSize) return stop('the last batch fails its CRC check');
        problems.push({
          kind: 'corrupt',
          position: pos,
          reason: `batch at offset ${header.baseOffset} fails its CRC check`,
        });
      }
    }
    seg.noteBatch(pos, header);
    pos += header.length;
  }
  return { validBytes: fileSize, problems };
}
