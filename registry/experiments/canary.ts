/**
 * Starting a canary: a candidate model version serves a share of users
 * beside the promoted model, as an experiment with a canary plan, so that
 * the controller that follows `rec.experiments` grows it step by step
 * while its guardrails hold and rolls it back when one breaks.
 *
 * The experiment is `canary-<model>-<version>`, over every user (traffic
 * slice [0, 1)), with a fresh salt and two variants, the candidate first so
 * each step keeps its users: `candidate` serving `<model>@<version>` at the
 * starting share and `control` serving `promoted` at the rest. Its steps are
 * the configured ones (`RECSTREAM_CANARY_STEPS`) above the starting share,
 * after it, each lasting at least `RECSTREAM_CANARY_MIN_STEP_MS`, and each
 * decided on at least `RECSTREAM_CANARY_MIN_IMPRESSIONS` and
 * `RECSTREAM_CANARY_MIN_USERS` effective users per variant; its guardrails are ctr, error_rate, fallback_rate and
 * latency_p99_ms with the configured tolerances. It goes through
 * `startExperiment`, so it is refused like any experiment (a running one
 * over the same users, the same canary running already).
 *
 * Only a `candidate` version is rolled out: a promoted one serves already,
 * a rejected or rolled-back one failed, and with nothing promoted there is
 * no control to compare with (promote it directly).
 *
 * @example
 * ```ts
 * const { experiment } = await startCanary(platform, artifactStore(dataDir), { version: 3, share: 0.05 });
 * experiment.id; // 'canary-recstream-3'
 * ```
 */

import { randomBytes } from 'node:crypto';
import type { Config } from '../../runtime/config.js';
import type { Platform } from '../../runtime/platform.js';
import type { Guardrail } from '../../schemas/generated/types.js';
import { ModelRegistryError } from '../errors.js';
import { ModelRegistry } from '../model-registry.js';
import type { ArtifactStore } from '../model-store.js';
import { GATE_PENDING_PARAM } from '../pending-gate-step.js';
import { type StartResult, startExperiment } from './experiment-actions.js';

export interface CanaryOptions {
  readonly version: number;
  /** Default: the configured model (`RECSTREAM_MODEL_NAME`). */
  readonly model?: string;
  /** The candidate's share of users at the start, in (0, 1). */
  readonly share: number;
  /** Recorded on the experiment. Default: says the share it started at. */
  readonly reason?: string;
  /** Impressions per variant before a step grows or rolls back. Default: `RECSTREAM_CANARY_MIN_IMPRESSIONS`. */
  readonly minImpressions?: number;
  /** Effective users per variant before a step grows or rolls back. Default: `RECSTREAM_CANARY_MIN_USERS`. */
  readonly minUsers?: number;
  /** Event time a step lasts at least. Default: `RECSTREAM_CANARY_MIN_STEP_MS`. */
  readonly minStepMs?: number;
  readonly now?: number;
}

/** The id of a version's canary experiment. */
export function canaryId(model: string, version: number): string {
  return `canary-${model}-${version}`;
}

/**
 * The steps of a canary starting at `share`: the share, then the
 * configured steps above it (the configured ones end at 1).
 *
 * @example
 * ```ts
 * canarySteps(0.05, [0.05, 0.25, 0.5, 1]); // [0.05, 0.25, 0.5, 1]
 * canarySteps(0.1, [0.05, 0.25, 0.5, 1]);  // [0.1, 0.25, 0.5, 1]
 * ```
 */
export function canarySteps(share: number, configured: readonly number[]): number[] {
  return [share, ...configured.filter((step) => step > share)];
}

/** The guardrails a canary starts with, tolerances from the configuration. */
export function canaryGuardrails(config: Config): Guardrail[] {
  return [
    { metric: 'ctr', tolerance: config.canaryCtrTolerance },
    { metric: 'error_rate', tolerance: config.canaryErrorRateTolerance },
    { metric: 'fallback_rate', tolerance: config.canaryFallbackRateTolerance },
    { metric: 'latency_p99_ms', tolerance: config.canaryLatencyP99Tolerance },
  ];
}

/**
 * Starts a candidate version's canary. `store`, when given, verifies the
 * candidate's artifacts first, so responders are not told to load a
 * broken model.
 *
 * @throws ModelRegistryError for a version that is not a candidate, awaits a gate step, has no artifacts, or has no promoted model to compare with
 * @throws ExperimentInvalidError / ExperimentConflictError as `startExperiment`
 */
export async function startCanary(
  platform: Platform,
  store: ArtifactStore | undefined,
  options: CanaryOptions,
): Promise<StartResult> {
  const { config } = platform;
  const model = options.model ?? config.modelName;
  const { version, share } = options;
  if (!(share > 0 && share < 1))
    throw new ModelRegistryError(
      `a canary's share must be above 0 and below 100 %, got ${share * 100} % (promote without --canary to serve everyone)`,
    );
  const registry = await ModelRegistry.load(platform.log, platform.serde);
  const target = registry.get(model, version);
  if (target === undefined) throw new ModelRegistryError(`${model} has no version ${version}`);
  if (target.status !== 'candidate')
    throw new ModelRegistryError(
      `${model} v${version} is ${target.status}, not a candidate; a canary rolls out a candidate version`,
    );
  const step = target.params[GATE_PENDING_PARAM];
  if (step !== undefined)
    throw new ModelRegistryError(
      `${model} v${version} awaits the gate's ${step} step, which promotes it, rejects it or starts its canary; promote it without --canary to skip the step`,
    );
  if (target.artifacts.length === 0) throw new ModelRegistryError(`${model} v${version} has no artifacts`);
  const promoted = registry.promoted(model);
  if (promoted === undefined)
    throw new ModelRegistryError(
      `no version of ${model} is promoted, so a canary of v${version} has nothing to compare with; promote it without --canary`,
    );
  await store?.verify(target.artifacts);
  const percent = `${+(share * 100).toFixed(4)} %`;
  return startExperiment(
    platform,
    {
      id: canaryId(model, version),
      description: `canary of ${model} v${version} against the promoted v${promoted.version}`,
      salt: randomBytes(8).toString('hex'),
      variants: [
        { name: 'candidate', model: `${model}@${version}`, share },
        { name: 'control', model: 'promoted', share: 1 - share },
      ],
      primary_metric: 'ctr',
      guardrails: canaryGuardrails(config),
      canary: {
        candidate: 'candidate',
        steps: canarySteps(share, config.canarySteps),
        step: 0,
        min_impressions: options.minImpressions ?? config.canaryMinImpressions,
        min_users: options.minUsers ?? config.canaryMinUsers,
        min_step_ms: options.minStepMs ?? config.canaryMinStepMs,
      },
      reason: options.reason ?? `canary started at ${percent}`,
    },
    options.now,
  );
}
