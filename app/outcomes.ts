/**
 * One line per trainer or indexer round's outcome, as `recstream train`,
 * `recstream index`, `recstream up` and the demo print them and the roles
 * log them, so every place words a round the same way.
 *
 * @example
 * ```ts
 * describeTrainOutcome(await trainer.trainOnce()); // 'recstream v3 promoted: … (recall@20 0.1234)'
 * describeIndexOutcome(await indexer.indexOnce()); // 'items v2 full for recstream v3: 1000 items …'
 * ```
 */
import type { IndexOutcome } from '../indexer/indexer.js';
import type { TrainOutcome } from '../trainer/trainer.js';

/** One line for a trainer round's outcome. */
export function describeTrainOutcome(outcome: TrainOutcome): string {
  if (outcome.kind !== 'published') return `no new version: ${outcome.detail}`;
  const v = outcome.version;
  const recall = v.metrics.recall_at_20;
  return `${v.model} v${v.version} ${v.status}: ${v.reason ?? ''}${recall === undefined ? '' : ` (recall@20 ${recall.toFixed(4)})`}`;
}

/** One line for an indexer round's outcome. */
export function describeIndexOutcome(outcome: IndexOutcome): string {
  if ('detail' in outcome) return `no new index version: ${outcome.detail}`;
  const v = outcome.version;
  const recall =
    outcome.recallAt10 === undefined ? '' : ` (quantised recall@10 ${outcome.recallAt10.toFixed(4)})`;
  return `${v.index} v${v.version} ${v.kind} for ${v.model} v${v.model_version}: ${v.item_count} items${recall}`;
}
