/**
 * Walks the CRC-checked batches of one segment in large reads, for the paths
 * that need whole batches rather than LogRecords (timestamp lookup,
 * compaction). The caller must hold the segment (`acquire`).
 */
import { CorruptDataError } from '../../errors.js';
import { BATCH_HEADER_BYTES, type BatchHeader, batchCrcMatches, readBatchHeader } from './format.js';
import { preadFully } from './io.js';
import type { Segment } from './segment.js';

const CHUNK_BYTES = 1024 * 1024;

/** A batch inside `buf` at `pos`; `position` is where it lies in the segment file. */
export interface BatchAt {
  readonly buf: Buffer;
  readonly pos: number;
  readonly position: number;
  readonly header: BatchHeader;
}

/**
 * Yields batches from byte `from` up to `limit` (default: the segment's
 * visible size). Buffers are fresh per chunk, so yielded batches may be kept.
 */
export async function* batchesOf(seg: Segment, from: number, limit = seg.size): AsyncGenerator<BatchAt> {
  let position = from;
  let need = CHUNK_BYTES;
  while (position < limit) {
    const want = Math.min(limit - position, Math.max(need, CHUNK_BYTES));
    const buf = Buffer.allocUnsafeSlow(want);
    const got = await preadFully(seg.fd, buf, 0, want, position);
    if (got < want)
      throw new CorruptDataError(
        `${seg.path}: file ends at byte ${position + got}, before the ${limit} bytes the log wrote`,
      );
    let p = 0;
    while (p + BATCH_HEADER_BYTES <= got) {
      const header = readBatchHeader(buf, p);
      if (!header) throw new CorruptDataError(`${seg.path}: unreadable batch header at byte ${position + p}`);
      if (p + header.length > got) {
        if (position + p + header.length > limit)
          throw new CorruptDataError(`${seg.path}: batch at byte ${position + p} runs past the written end`);
        if (p === 0) need = header.length;
        break;
      }
      if (!batchCrcMatches(buf, p, header.length)) {
        throw new CorruptDataError(
          `${seg.path}: batch at byte ${position + p} (offset ${header.baseOffset}) fails its CRC check`,
        );
      }
      yield { buf, pos: p, position: position + p, header };
      p += header.length;
    }
    if (p === 0 && got < BATCH_HEADER_BYTES)
      throw new CorruptDataError(`${seg.path}: ${got} stray bytes at byte ${position}`);
    position += p;
  }
  if (seg.corruptAt >= 0 && position >= seg.corruptAt) {
    throw new CorruptDataError(`${seg.path}: unreadable batch header at byte ${seg.corruptAt}`);
  }
}
