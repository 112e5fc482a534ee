/**
 * Client-side idempotence: the producer marks the first record of every
 * batch with its producer id and the batch's sequence number, and before it
 * retries a failed append it looks for that mark in the partition. A failure
 * can be ambiguous (a broker that wrote the batch but whose answer was lost,
 * a kafkajs retry budget that ran out mid-request), and retrying blindly
 * would write the batch twice; finding the mark means the batch is already
 * there, whole, since an append to one partition is atomic.
 *
 * @example
 * ```ts
 * const offset = await findBatch(log, 'rec.interactions', 2, lastKnownEnd, producerId, 17);
 * if (offset === undefined) await log.append(...); // not written: safe to retry
 * ```
 */
import type { EventLog, RecordHeaders } from '../log/log.js';

/** Header on a batch's first record: the producer instance that wrote it. */
export const PRODUCER_ID_HEADER = 'recstream.producer';
/** Header on a batch's first record: the batch's sequence number within its producer. */
export const BATCH_SEQ_HEADER = 'recstream.batch';

const SCAN_CHUNK = 1000;

/** The marks for the first record of a batch, merged over the caller's own headers. */
export function batchHeaders(
  headers: RecordHeaders | undefined,
  producerId: string,
  seq: number,
): RecordHeaders {
  return { ...headers, [PRODUCER_ID_HEADER]: producerId, [BATCH_SEQ_HEADER]: String(seq) };
}

/**
 * The offset of the batch's first record if it is in the partition at or
 * after `from`, else undefined. Reads from `from` to the end, so the cost is
 * what others appended since this producer's last acknowledged batch.
 */
export async function findBatch(
  log: EventLog,
  topic: string,
  partition: number,
  from: number,
  producerId: string,
  seq: number,
): Promise<number | undefined> {
  const wanted = String(seq);
  const live = (await log.offsets(topic)).find((o) => o.partition === partition);
  let offset = Math.max(from, live?.start ?? from);
  for (;;) {
    const records = await log.read(topic, partition, offset, SCAN_CHUNK);
    if (records.length === 0) return undefined;
    for (const r of records) {
      if (r.headers?.[PRODUCER_ID_HEADER] === producerId && r.headers[BATCH_SEQ_HEADER] === wanted) {
        return r.offset;
      }
    }
    offset = records.at(-1)!.offset + 1;
  }
}
