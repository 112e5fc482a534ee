/**
 * Promoting a model version by hand, by events (see model-registry.ts): one
 * `promoted` event for the version, published after its artifacts verified.
 * One function so that `recstream models promote` and `POST /admin/promote`
 * cannot drift apart (like rollback.ts for rollbacks).
 *
 * @example
 * ```ts
 * const result = await promoteModel(platform, artifactStore(dataDir), { version: 3, reason: 'better CTR' });
 * console.log(result.alreadyPromoted ? 'nothing to do' : `v${result.promoted.version} promoted`);
 * ```
 */

import type { Platform } from '../runtime/platform.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { ModelRegistryError } from './errors.js';
import { ModelRegistry, publishModelVersions } from './model-registry.js';
import type { ArtifactStore } from './model-store.js';

export interface PromoteOptions {
  /** The version to promote (a whole number from 1). */
  readonly version: number;
  /** Default: the configured model (`RECSTREAM_MODEL_NAME`). */
  readonly model?: string;
  /** Recorded on the event. Default: `promoted by hand`. */
  readonly reason?: string;
}

export interface PromoteResult {
  readonly model: string;
  /** The `promoted` event published, or the version's newest event when it was promoted already. */
  readonly promoted: ModelVersion;
  /** The version that was promoted before, if any. */
  readonly previousVersion: number | null;
  /** True when the version was promoted already: nothing was published. */
  readonly alreadyPromoted: boolean;
}

/**
 * Publishes a `promoted` event for the version and returns it. Throws
 * ModelRegistryError for a version that is not a whole number from 1, does
 * not exist or has no artifacts (a version the gate rejected before export),
 * and ArtifactIntegrityError when its artifacts no longer verify (then
 * nothing is published: responders must not be told to load a broken model).
 */
export async function promoteModel(
  platform: Platform,
  store: ArtifactStore,
  options: PromoteOptions,
): Promise<PromoteResult> {
  const model = options.model ?? platform.config.modelName;
  const { version } = options;
  if (!Number.isInteger(version) || version < 1)
    throw new ModelRegistryError(`promote needs a version number, got ${JSON.stringify(version)}`);
  const registry = await ModelRegistry.load(platform.log, platform.serde);
  const target = registry.get(model, version);
  if (!target) throw new ModelRegistryError(`${model} has no version ${version}`);
  if (target.artifacts.length === 0)
    throw new ModelRegistryError(`${model} v${version} has no artifacts (${target.reason ?? target.status})`);
  const previousVersion = registry.promoted(model)?.version ?? null;
  if (previousVersion === version) return { model, promoted: target, previousVersion, alreadyPromoted: true };
  await store.verify(target.artifacts);
  const promoted: ModelVersion = {
    ...target,
    status: 'promoted',
    status_ts: Date.now(),
    reason: options.reason ?? 'promoted by hand',
  };
  await publishModelVersions(platform, [promoted]);
  return { model, promoted, previousVersion, alreadyPromoted: false };
}
