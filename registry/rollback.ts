/**
 * Rolling a model back, by events (see model-registry.ts): the promoted
 * version gets a `rolled_back` event and the version promoted before it a
 * `promoted` one, in that order, after its artifacts verified. One function
 * so that `recstream models rollback` and `POST /admin/rollback` cannot drift
 * apart.
 *
 * @example
 * ```ts
 * const { rolledBack, promoted } = await rollbackModel(platform, artifactStore(dataDir), { reason: 'bad CTR' });
 * console.log(`v${rolledBack.version} rolled back, v${promoted.version} promoted`);
 * ```
 */

import type { Platform } from '../runtime/platform.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { ModelRegistryError } from './errors.js';
import { ModelRegistry, publishModelVersions } from './model-registry.js';
import type { ArtifactStore } from './model-store.js';

export interface RollbackOptions {
  /** Default: the configured model (`RECSTREAM_MODEL_NAME`). */
  readonly model?: string;
  /** Recorded on both events. Default: `rolled back by hand`. */
  readonly reason?: string;
}

export interface RollbackResult {
  readonly model: string;
  /** The `rolled_back` event published for the version that was promoted. */
  readonly rolledBack: ModelVersion;
  /** The `promoted` event published for the version promoted before it. */
  readonly promoted: ModelVersion;
}

/**
 * Publishes the two rollback events and returns them. Throws
 * ModelRegistryError when nothing is promoted or nothing was promoted
 * before, ArtifactIntegrityError when the older version's artifacts no
 * longer verify (then nothing is published: a rollback must not leave
 * responders without a loadable model).
 */
export async function rollbackModel(
  platform: Platform,
  store: ArtifactStore,
  options: RollbackOptions = {},
): Promise<RollbackResult> {
  const model = options.model ?? platform.config.modelName;
  const registry = await ModelRegistry.load(platform.log, platform.serde);
  const current = registry.promoted(model);
  if (!current) throw new ModelRegistryError(`${model} has no promoted version to roll back`);
  const target = registry.rollbackTarget(model);
  if (!target)
    throw new ModelRegistryError(
      `${model} v${current.version} is the only version ever promoted: nothing to roll back to`,
    );
  await store.verify(target.artifacts);
  const reason = options.reason ?? 'rolled back by hand';
  const now = Date.now();
  const rolledBack: ModelVersion = { ...current, status: 'rolled_back', status_ts: now, reason };
  const promoted: ModelVersion = {
    ...target,
    status: 'promoted',
    status_ts: now,
    reason: `rollback of v${current.version}: ${reason}`,
  };
  await publishModelVersions(platform, [rolledBack, promoted]);
  return { model, rolledBack, promoted };
}
