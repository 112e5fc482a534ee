/**
 * Replays a changelog range onto the engine: every store record in
 * [from, until) in offset order, last write per key winning and tombstones
 * deleting, in one engine write per read batch. Not atomic as a whole: the
 * caller writes the task metadata only after the replay, so a crash midway
 * leaves an engine without metadata, which the next open restores afresh.
 *
 * @example
 * ```ts
 * await replayChangelog(target, bounds.start, tail.markerOffset, (done, total) => progress(done, total));
 * ```
 */
import { prefixedKey } from '../keys.js';
import type { ChangelogTarget } from './correct.js';
import { READ_BATCH, readRange } from './io.js';
import { isMarker } from './marker.js';

export interface ChangelogReplayStats {
  /** Store records applied. */
  readonly applied: number;
  /** Records without a key, which no task writes, skipped. */
  readonly skipped: number;
}

export async function replayChangelog(
  target: ChangelogTarget,
  from: number,
  until: number,
  onProgress?: (restored: number, total: number) => void,
): Promise<ChangelogReplayStats> {
  const { log, engine, topic, partition, prefix } = target;
  const total = Math.max(0, until - from);
  let applied = 0;
  let skipped = 0;
  onProgress?.(0, total);
  await readRange(log, topic, partition, from, until, READ_BATCH, async (records, nextOffset) => {
    const writes: { key: Buffer; value: Buffer | null }[] = [];
    for (const record of records) {
      if (isMarker(record)) continue;
      if (record.key === null) {
        skipped++;
        continue;
      }
      writes.push({ key: prefixedKey(prefix, record.key), value: record.value });
    }
    await engine.write(writes);
    applied += writes.length;
    onProgress?.(nextOffset - from, total);
  });
  return { applied, skipped };
}
