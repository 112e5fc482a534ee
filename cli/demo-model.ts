/**
 * The demo's model stage: one trainer round over the snapshots the demo's
 * stream produced (few epochs, so a first model comes within a minute or
 * two on two cores) and the indexer's full index for it; the demo's
 * responder serves it next. Without a Python that has torch it says what
 * to install and the demo goes on without a model (the responder then
 * serves popularity).
 *
 * @example
 * ```ts
 * await demoModel(platform, process.stdout, controller.signal);
 * ```
 */

import { Indexer } from '../indexer/indexer.js';
import { artifactStore } from '../registry/model-store.js';
import type { Platform } from '../runtime/platform.js';
import { TrainingError } from '../trainer/errors.js';
import { Trainer } from '../trainer/trainer.js';
import { engineProgress } from './commands/train.js';

/** Engine settings of the demo's training rounds: few epochs, so a model comes in a minute or two on two cores. */
export const DEMO_ENGINE = { epochs: 5, ranker_epochs: 1, refit: false };

/** `signal` stops the training (Ctrl-C); the round then rejects. */
export async function demoModel(
  platform: Platform,
  out: NodeJS.WritableStream,
  signal?: AbortSignal,
): Promise<void> {
  const store = artifactStore(platform.config.dataDir);
  out.write('\ntraining the first model from the training snapshots…\n');
  let outcome: Awaited<ReturnType<Trainer['trainOnce']>>;
  try {
    outcome = await new Trainer({
      platform,
      store,
      engineDefaults: DEMO_ENGINE,
      onEngineEvent: engineProgress(),
      signal,
    }).trainOnce();
  } catch (error) {
    if (error instanceof TrainingError && error.code === 'TRAINER_PYTHON_MISSING') {
      out.write(`no model: ${error.message}\n`);
      return;
    }
    throw error;
  }
  if (outcome.kind !== 'published') {
    out.write(`no model: ${outcome.detail}\n`);
    return;
  }
  const model = outcome.version;
  const m = model.metrics;
  out.write(
    `${model.model} v${model.version} ${model.status} (${model.reason}); holdout recall@20 ${m.recall_at_20?.toFixed(3)} vs popularity ${m.popularity_recall_at_20?.toFixed(3)}, ranker AUC ${m.ranker_auc?.toFixed(3)} vs CTR ${m.ctr_baseline_auc?.toFixed(3)}\n`,
  );
  if (model.status !== 'promoted') return;
  const index = await new Indexer({ platform, store }).indexOnce();
  if (index.kind === 'full')
    out.write(`index ${index.version.index} v${index.version.version}: ${index.version.item_count} items\n`);
  else if (index.kind === 'refused') out.write(`no index: ${index.detail}\n`);
}
