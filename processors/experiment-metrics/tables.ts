/**
 * The global tables `experiment-metrics` reads: every experiment's states
 * by `updated_ts` (`rec.experiments`), so outcomes are counted in the
 * canary step in effect at their event time, and the newest event of
 * every model version (`rec.model-versions`), which the canary controller
 * copies when it promotes or rejects a candidate.
 *
 * @example
 * ```ts
 * builder.addGlobalTable({ name: EXPERIMENT_VERSIONS, topic: EXPERIMENTS_TOPIC, deserializer, reduce: reduceExperiments });
 * const experiment = asOf(ctx.globalTable(EXPERIMENT_VERSIONS).get(id), outcome.ts);
 * ```
 */
import { type Versioned, withVersion } from '../../features/math/versioned.js';
import type { Experiment, ModelVersion } from '../../schemas/generated/types.js';

export const EXPERIMENT_VERSIONS = 'experiment-versions';
export const MODEL_VERSIONS_TABLE = 'model-version-events';

/** Global table reducer over rec.experiments; a record whose key is not its id is left out. */
export function reduceExperiments(
  current: Versioned<Experiment> | undefined,
  experiment: Experiment | null,
  record: { readonly key: string },
): Versioned<Experiment> | undefined {
  if (experiment === null) return undefined;
  if (experiment.id !== record.key) return current;
  return withVersion(current, experiment.updated_ts, experiment);
}

/** A model's versions, newest event each, by version number. */
export type ModelVersionEvents = Readonly<Record<string, ModelVersion>>;

/** Global table reducer over rec.model-versions (key: model name). */
export function reduceModelVersions(
  current: ModelVersionEvents | undefined,
  event: ModelVersion | null,
  record: { readonly key: string },
): ModelVersionEvents | undefined {
  if (event === null || event.model !== record.key) return current;
  return { ...current, [String(event.version)]: event };
}

/** `<model>@<version>` split, or undefined for `promoted`, `popularity` and anything else. */
export function parseModelRef(ref: string): { model: string; version: number } | undefined {
  const at = ref.lastIndexOf('@');
  if (at <= 0) return undefined;
  const version = Number(ref.slice(at + 1));
  return Number.isInteger(version) && version >= 1 ? { model: ref.slice(0, at), version } : undefined;
}
