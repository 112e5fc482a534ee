/**
 * The model an evaluation serves: the promoted one, or one trained first
 * when there is none or a new one is asked for; a note says which, and
 * warns when no version ends up promoted (the serving path then answers
 * with popularity).
 *
 * @example
 * ```ts
 * await modelStep(platform, store, false, hooks);
 * ```
 */

import { ModelRegistry } from '../registry/model-registry.js';
import type { ArtifactStore } from '../registry/model-store.js';
import type { Platform } from '../runtime/platform.js';
import { Trainer } from '../trainer/trainer.js';
import type { EvalHooks, ProgressLine } from './eval-hooks.js';

/** The promoted model, trained first when there is none or `retrain` asks for a new one. */
export async function modelStep(
  platform: Platform,
  store: ArtifactStore,
  retrain: boolean,
  hooks: EvalHooks,
): Promise<void> {
  const { log, serde, config } = platform;
  const promoted = (await ModelRegistry.load(log, serde)).promoted(config.modelName);
  if (promoted && !retrain) {
    hooks.note(
      `using the promoted model ${promoted.model} v${promoted.version} (--retrain trains a new one)`,
    );
    return;
  }
  let gather: ProgressLine | undefined;
  const outcome = await new Trainer({
    platform,
    store,
    onEngineEvent: hooks.onEngineEvent,
    onGather: (read, total) => {
      gather ??= hooks.progress('gather training set', total);
      gather.update(read);
    },
  }).trainOnce({ force: retrain });
  gather?.done();
  if (outcome.kind !== 'published') {
    hooks.note(`no new model version: ${outcome.detail}`);
  } else {
    const v = outcome.version;
    const recall = v.metrics.recall_at_20;
    const popularity = v.metrics.popularity_recall_at_20;
    hooks.note(
      `trained ${v.model} v${v.version}: ${v.status}${v.reason ? ` (${v.reason})` : ''}; holdout recall@20 ${recall?.toFixed(4) ?? '-'} vs popularity ${popularity?.toFixed(4) ?? '-'}`,
    );
  }
  const now = (await ModelRegistry.load(log, serde)).promoted(config.modelName);
  if (!now)
    hooks.note(
      `warning: ${config.modelName} has no promoted version, so the serving path serves popularity (fallback no_model); \`recstream models promote <version>\` serves a rejected one`,
    );
}
