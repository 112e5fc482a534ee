/**
 * Brings the dedup index up to the log on start: reads rec.interactions
 * from the index's checkpoint to the end of each partition and indexes every
 * event id found — the events acknowledged to clients just before a crash,
 * whose index write never happened. A new index (no checkpoint) starts at
 * the current end: ids accepted by a deleted index are not recovered (the
 * platform's consumers still drop duplicates by event_id).
 *
 * The cost is proportional to what was appended after the checkpoint,
 * including other producers' records (simulator, importers) written while
 * the ingest was down.
 *
 * @example
 * ```ts
 * const { checkpoint, records } = await rebuildIndex(log, serde, index, { topic: 'rec.interactions' });
 * ```
 */

import { RecstreamError } from '../../runtime/errors.js';
import type { EventLog } from '../../runtime/log/log.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { Interaction } from '../../schemas/generated/types.js';
import type { DedupIndex, IndexedEvent } from './dedup-index.js';
import { fingerprint } from './fingerprint.js';

const CHUNK = 5000;

export interface RebuildOptions {
  readonly topic: string;
  /** Records read so far, after each chunk. */
  readonly onProgress?: (records: number) => void;
}

export async function rebuildIndex(
  log: EventLog,
  serde: Serde,
  index: DedupIndex,
  options: RebuildOptions,
): Promise<{ checkpoint: Map<number, number>; records: number }> {
  const { topic } = options;
  const saved = await index.checkpoint();
  const checkpoint = new Map(saved);
  const decoder = await serde.decoder(`${topic}-value`);
  let records = 0;
  for (const { partition, start, end } of await log.offsets(topic)) {
    // Clamped both ways: retention may have deleted the start, a replaced data dir may have a shorter log.
    let offset = Math.min(end, Math.max(start, saved.get(partition) ?? end));
    while (offset < end) {
      const batch = await log.read(topic, partition, offset, Math.min(CHUNK, end - offset));
      if (batch.length === 0) break;
      await decoder.prepare(batch.map((r) => r.value));
      const entries: IndexedEvent[] = [];
      for (const r of batch) {
        if (r.value === null) continue;
        try {
          const event = decoder.decodeSync(r.value) as Interaction;
          entries.push({ id: event.event_id, fingerprint: fingerprint(event) });
        } catch (err) {
          // A record that is not a readable Interaction was not accepted by us; processors dead-letter it.
          if (!(err instanceof RecstreamError)) throw err;
        }
      }
      offset = batch.at(-1)!.offset + 1;
      checkpoint.set(partition, offset);
      await index.record(entries, checkpoint);
      records += batch.length;
      options.onProgress?.(records);
    }
    checkpoint.set(partition, offset);
  }
  await index.record([], checkpoint);
  return { checkpoint, records };
}
