/**
 * Which experiment variant still needs an index: responders serve a
 * variant that names a model version (`<model>@<version>`, a canary's
 * candidate) only with a full index built for that version, so the indexer
 * builds one for each such version of its model, after the promoted
 * model's own and before the next delta.
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
import type { EventLog } from '../runtime/log/log.js';
import type { Serde } from '../runtime/serde/serde.js';
import type { ModelVersion } from '../schemas/generated/types.js';

const MODEL_VERSION = /^(.+)@(\d+)$/;

/** The first model version of `model` a running experiment serves that has no full `index` yet. */
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
  return undefined;
}
