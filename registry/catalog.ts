/**
 * The item catalog as the log holds it, read whole at start by the trainer
 * (catalog columns of a training set), the indexer (the items to embed) and
 * offline evaluation: `rec.items` is compacted, but until compaction runs a
 * key can have several values, so the newest by `updated_ts` wins.
 *
 * @example
 * ```ts
 * const catalog = await readCatalog(platform.log, platform.serde);
 * catalog.get('i42')?.title;
 * ```
 */
import type { EventLog } from '../runtime/log/log.js';
import type { Serde } from '../runtime/serde/serde.js';
import type { Item } from '../schemas/generated/types.js';
import { ITEMS_TOPIC } from '../schemas/topics.js';
import { readTopic } from './topic-reader.js';

/** The catalog: newest version of every item by updated_ts; deleted items left out. */
export async function readCatalog(log: EventLog, serde: Serde): Promise<Map<string, Item>> {
  const decoder = await serde.decoder('rec.items-value');
  const newest = new Map<string, Item | null>();
  for await (const record of readTopic(log, ITEMS_TOPIC)) {
    if (record.key === null) continue;
    const item = record.value === null ? null : await decoder.decode(record.value);
    const current = newest.get(record.key);
    if (item === null || !current || item.updated_ts >= current.updated_ts) newest.set(record.key, item);
  }
  const out = new Map<string, Item>();
  for (const [id, item] of newest) if (item !== null) out.set(id, item);
  return out;
}
