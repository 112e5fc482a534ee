/**
 * The synthetic world's `ceiling` row of the `quality` suite: a ranking
 * that is handed the simulator's own item vectors, for scale.
 */
import { RankingMetrics, type RankingResult } from '../../evaluation/ranking-metrics.js';
import { KS } from './pipeline.js';
import type { InteractionLog, TruthFile } from './synthetic-world.js';

/**
 * What the interactions allow, for scale: the truth's preference formula with the simulator's own
 * item vectors (which a model has to learn from the events) and its weights and language bonus, but
 * each user's taste taken from the events (the mean vector of the items they clicked; none for a
 * user who clicked nothing) and each item's quality from them too (its smoothed click-through rate
 * per impression, standardised): the hidden quality and taste are what no ranker sees. Available
 * items only.
 */
export function ceiling(truth: TruthFile, log: InteractionLog): Record<number, RankingResult> {
  const { weights, items } = truth;
  const dims = items[0]?.vector.length ?? 0;
  const index = new Map(items.map((item, i) => [item.id, i]));
  const ctr = items.map((item) =>
    Math.log(((log.clicks.get(item.id) ?? 0) + 1) / ((log.shown.get(item.id) ?? 0) + 10)),
  );
  const mean = ctr.reduce((a, b) => a + b, 0) / Math.max(1, ctr.length);
  const sd = Math.sqrt(ctr.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ctr.length)) || 1;
  const metrics = new Map(KS.map((k) => [k, new RankingMetrics(k, items.length)]));
  for (const user of truth.users) {
    const taste = new Array<number>(dims).fill(0);
    for (const item of log.clicked.get(user.id) ?? []) {
      const at = index.get(item);
      if (at === undefined) continue;
      for (let d = 0; d < dims; d++) taste[d]! += items[at]!.vector[d]!;
    }
    const norm = Math.hypot(...taste) || 1;
    const scored = items.flatMap((item, i) => {
      if (!item.available) return [];
      const dot = item.vector.reduce((a, x, d) => a + x * taste[d]!, 0) / norm;
      const language =
        item.language === user.language ? weights.language : item.language === 'en' ? weights.english : 0;
      return [
        { id: item.id, score: weights.taste * dot + (weights.quality * (ctr[i]! - mean)) / sd + language },
      ];
    });
    scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    const ranked = scored.map((item) => item.id);
    for (const m of metrics.values()) m.add(ranked, user.top);
  }
  return Object.fromEntries([...metrics].map(([k, m]) => [k, m.result()]));
}
