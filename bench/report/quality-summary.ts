/**
 * The `quality` section's summary in docs/benchmarks.md: one row per data
 * set and model of the latest results (recstream, the item-kNN and
 * popularity baselines, the ceiling where there is one) with Recall@20,
 * NDCG@20, Recall@20 over popularity's and the seconds it took to train,
 * so the models of a data set read side by side.
 *
 * @example
 * ```ts
 * const markdown = qualitySummary(set.latest); // undefined when no row has Recall@20
 * ```
 */
import type { RecordedResult } from '../result.js';
import { formatNumber, formatWhen, table } from './format.js';

/** Models in the order a reader compares them; others follow by name. */
const MODEL_ORDER = ['recstream', 'item-knn', 'popularity', 'ceiling'];

function modelRank(model: string): number {
  const at = MODEL_ORDER.indexOf(model);
  return at < 0 ? MODEL_ORDER.length : at;
}

export function qualitySummary(results: readonly RecordedResult[]): string | undefined {
  const rows = new Map<string, { dataset: string; model: string; recall?: RecordedResult; ndcg?: number }>();
  for (const result of results) {
    if (result.name !== 'recall_at_20' && result.name !== 'ndcg_at_20') continue;
    const dataset = String(result.config.dataset ?? '');
    const model = String(result.config.model ?? '');
    const key = `${dataset}\u0000${model}`;
    const row = rows.get(key) ?? { dataset, model };
    if (result.name === 'recall_at_20') row.recall = result;
    else row.ndcg = result.value;
    rows.set(key, row);
  }
  const datasets = [...new Set([...rows.values()].map((r) => r.dataset))];
  const ordered = [...rows.values()]
    .filter((r) => r.recall !== undefined)
    .sort(
      (a, b) =>
        datasets.indexOf(a.dataset) - datasets.indexOf(b.dataset) ||
        modelRank(a.model) - modelRank(b.model) ||
        (a.model < b.model ? -1 : 1),
    );
  if (ordered.length === 0) return undefined;
  return table(
    ['data set', 'model', 'Recall@20', 'NDCG@20', 'vs popularity', 'train seconds', 'measured'],
    ordered.map(({ dataset, model, recall, ndcg }) => {
      const seconds = recall!.config.train_seconds;
      return [
        dataset,
        model,
        formatNumber(recall!.value),
        ndcg === undefined ? '' : formatNumber(ndcg),
        typeof recall!.ratio === 'number' ? `×${formatNumber(recall!.ratio)}` : '',
        typeof seconds === 'number' ? formatNumber(Math.round(seconds * 10) / 10) : '',
        formatWhen(recall!.ts).slice(0, 10),
      ];
    }),
  );
}
