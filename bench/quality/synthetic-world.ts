/**
 * What the `quality` suite reads back of a simulated world: the
 * interactions as written to the log, and the simulator's ground truth
 * (`recstream simulate --truth`).
 *
 * @example
 * ```ts
 * const truth = await readTruth(truthPath);
 * const log = await readInteractions(dataDir);
 * ```
 */
import { readFile } from 'node:fs/promises';
import { readTopic } from '../../registry/topic-reader.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { openPlatform } from '../../schemas/platform.js';
import { addTo, type ItemSets } from './item-sets.js';

export interface InteractionLog {
  /** Per user, the items of their non-impression interactions (what popularity counts). */
  readonly seen: ItemSets;
  /** Per user, the items they clicked. */
  readonly clicked: ItemSets;
  /** Per item, impressions and clicks. */
  readonly shown: Map<string, number>;
  readonly clicks: Map<string, number>;
}

export async function readInteractions(dataDir: string): Promise<InteractionLog> {
  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  const log: InteractionLog = { seen: new Map(), clicked: new Map(), shown: new Map(), clicks: new Map() };
  const count = (map: Map<string, number>, item: string) => map.set(item, (map.get(item) ?? 0) + 1);
  try {
    const decoder = await platform.serde.decoder('rec.interactions-value');
    for await (const record of readTopic(platform.log, 'rec.interactions')) {
      const event = await decoder.decode(record.value!);
      if (event.type === 'impression') count(log.shown, event.item_id);
      else if (event.type !== 'skip' && event.type !== 'dislike')
        addTo(log.seen, event.user_id, event.item_id);
      if (event.type === 'click') {
        count(log.clicks, event.item_id);
        addTo(log.clicked, event.user_id, event.item_id);
      }
    }
    return log;
  } finally {
    await platform.close();
  }
}

export interface TruthFile {
  readonly at: number;
  readonly weights: { taste: number; quality: number; language: number; english: number };
  readonly items: { id: string; vector: number[]; language: string; available: boolean }[];
  readonly users: { id: string; language: string; top: Set<string> }[];
}

export async function readTruth(path: string): Promise<TruthFile> {
  const truth: TruthFile = {
    at: 0,
    weights: { taste: 0, quality: 0, language: 0, english: 0 },
    items: [],
    users: [],
  };
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (r.kind === undefined) Object.assign(truth, { at: r.at, weights: r.weights });
    else if (r.kind === 'item')
      truth.items.push({ id: r.item_id, vector: r.vector, language: r.language, available: r.available });
    else if (r.kind === 'user' && r.top)
      truth.users.push({
        id: r.user_id,
        language: r.language,
        top: new Set(r.top.map(([item]: [string]) => item)),
      });
  }
  return truth;
}
