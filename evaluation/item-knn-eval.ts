/**
 * Scores the item-kNN baseline (item-knn-baseline.ts) on a holdout with the
 * protocol recstream's own figures use: every holdout user with something
 * to find, in id order, ranked over every item of the training part with
 * the user's training items left out (unless `excludeSeen` is false), and
 * Recall, NDCG, HR and coverage at each cut-off (ranking-metrics.ts).
 *
 * @example
 * ```ts
 * const knn = evaluateItemKnn({ seen, holdout, ks: [10, 20, 50] });
 * knn.byK[20].recall; knn.buildSeconds;
 * ```
 */
import { ItemKnnBaseline } from './item-knn-baseline.js';
import { RankingMetrics, type RankingResult } from './ranking-metrics.js';

export interface ItemKnnEvalOptions {
  /** Per user, the items of the training part (what similarities are computed from). */
  readonly seen: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per user, the items to find. */
  readonly holdout: ReadonlyMap<string, ReadonlySet<string>>;
  /** Leave each user's `seen` items out of their ranking (default true). */
  readonly excludeSeen?: boolean;
  readonly ks: readonly number[];
  /** Neighbours kept per item (200). */
  readonly neighbours?: number;
  /** Items coverage is a share of (default: the training part's items). */
  readonly catalogSize?: number;
}

export interface ItemKnnEvalResult {
  readonly users: number;
  readonly items: number;
  readonly neighbours: number;
  /** Seconds to compute the similarities (the baseline's training). */
  readonly buildSeconds: number;
  /** Seconds to rank every holdout user. */
  readonly scoreSeconds: number;
  readonly byK: Readonly<Record<number, RankingResult>>;
}

export function evaluateItemKnn(options: ItemKnnEvalOptions): ItemKnnEvalResult {
  const started = performance.now();
  const knn = ItemKnnBaseline.fromSeen(options.seen.values(), { neighbours: options.neighbours });
  const built = performance.now();
  const catalogSize = options.catalogSize ?? knn.itemCount;
  const metrics = options.ks.map((k) => new RankingMetrics(k, catalogSize));
  const kMax = Math.max(...options.ks);
  const exclude = options.excludeSeen ?? true;
  const users = [...options.holdout.keys()].filter((u) => options.holdout.get(u)!.size > 0).sort();
  for (const user of users) {
    const items = options.seen.get(user);
    const ranked = knn.top(kMax, items, exclude ? items : undefined);
    for (const m of metrics) m.add(ranked, options.holdout.get(user)!);
  }
  return {
    users: users.length,
    items: knn.itemCount,
    neighbours: knn.neighbourCount,
    buildSeconds: (built - started) / 1000,
    scoreSeconds: (performance.now() - built) / 1000,
    byK: Object.fromEntries(metrics.map((m) => [m.k, m.result()])),
  };
}
