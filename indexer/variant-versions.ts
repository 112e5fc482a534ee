/**
 * Which version besides the promoted one still needs an index: responders
 * serve an experiment variant that names a model version
 * (`<model>@<version>`, a canary's candidate) only with a full index built
 * for that version, and the gate's off-policy step replays a candidate
 * through the serving code, which needs one too
 * (../registry/pending-gate-step.ts). The indexer builds one for each such
 * version of its model, after the promoted model's own and before the next
 * delta.
 *
 * @example
 * ```ts
 * const version = await unindexedVariant(log, serde, 'recstream', 'items', models, indexes);
 * if (version) await build(version);
 * ```
 */

import { ExperimentRegistry } from '../registry/experiments/experiment-registry.js';
import type { IndexRegistry } from '../registry/index-registry.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { OFF_POLICY_STEP, pendingGateStep } from '../registry/pending-gate-step.js';
import type { EventLog } from '../runtime/log/log.js';
import type { Serde } from '../runtime/serde/serde.js';
import type { ModelVersion } from '../schemas/generated/types.js';

const MODEL_VERSION = /^(.+)@(\d+)$/;

/** The first model version of `model` a running experiment serves, or the gate's off-policy step awaits, that has no full `index` yet. */
export async function unindexedVariant(
  log: EventLog,
  serde: Serde,
  model: string,
  index: string,
  models: ModelRegistry,
  indexes: IndexRegistry,
): Promise<ModelVersion | undefined> {
  const experiments = await ExperimentRegistry.load(log, serde);
  for (const experiment of experiments.running())
    for (const variant of experiment.variants) {
      const match = MODEL_VERSION.exec(variant.model);
      if (match === null || match[1] !== model) continue;
      const version = models.get(model, Number(match[2]));
      if (version === undefined || version.artifacts.length === 0) continue;
      if (!indexes.fullFor(index, version.model, version.version)) return version;
    }
  const pending = pendingGateStep(models, model, OFF_POLICY_STEP);
  if (
    pending !== undefined &&
    pending.artifacts.length > 0 &&
    !indexes.fullFor(index, model, pending.version)
  )
    return pending;
  return undefined;
}
