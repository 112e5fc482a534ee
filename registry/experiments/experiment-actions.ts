/**
 * Starting and stopping experiments, by events: one function each, so that
 * `recstream experiments …`, the admin API and canaries cannot drift
 * apart (like ../promote.ts for promotions).
 *
 * - **start** checks the experiment's shape (`experimentFromJson`) and then
 *   against the platform (`checkExperiment`: known model versions, a
 *   traffic slice of its own), and publishes it `running`. An id that is
 *   stopped or concluded is started afresh: the new state replaces the old
 *   one, with a new `created_ts`. An id that is **running** is refused
 *   (`ExperimentConflictError` on `id`): changing a running experiment's
 *   shares or salt would move users between variants mid-test and mix two
 *   designs in one set of figures, so a change is a stop and a new start,
 *   and only the canary controller moves a running canary's steps.
 * - **stop** publishes the running experiment's state with status
 *   `stopped`, a new `updated_ts` and the reason; its users are back on the
 *   promoted model as soon as a responder folds the event. Stopping an id
 *   that is not running is refused (`ExperimentConflictError` on `id`), an
 *   unknown id is `ExperimentNotFoundError`.
 *
 * Each reads the registries, then publishes: callers that may run side by
 * side (the admin API) run them one after the other.
 *
 * @example
 * ```ts
 * const { experiment, replaced } = await startExperiment(platform, JSON.parse(text));
 * await stopExperiment(platform, experiment.id, 'enough data');
 * ```
 */

import type { Platform } from '../../runtime/platform.js';
import type { Experiment } from '../../schemas/generated/types.js';
import { ModelRegistry } from '../model-registry.js';
import { ExperimentConflictError, ExperimentNotFoundError } from './errors.js';
import { ExperimentRegistry, publishExperiments } from './experiment-registry.js';
import { checkExperiment, experimentFromJson } from './validate-experiment.js';

export interface StartResult {
  /** The state published. */
  readonly experiment: Experiment;
  /** The stopped or concluded state the new one replaced, if the id was used before. */
  readonly replaced: Experiment | undefined;
}

/**
 * Checks and publishes an experiment from its JSON form.
 *
 * @throws ExperimentInvalidError naming the field of a bad file or an unknown model version
 * @throws ExperimentConflictError on `id` (running already) or `traffic_start` (an overlap)
 */
export async function startExperiment(
  platform: Platform,
  input: unknown,
  now = Date.now(),
): Promise<StartResult> {
  const experiment = experimentFromJson(input, now);
  const [models, experiments] = await Promise.all([
    ModelRegistry.load(platform.log, platform.serde),
    ExperimentRegistry.load(platform.log, platform.serde),
  ]);
  const replaced = experiments.get(experiment.id);
  if (replaced?.status === 'running')
    throw new ExperimentConflictError(
      'id',
      `experiment ${experiment.id} is running since ${new Date(replaced.created_ts).toISOString()}; ` +
        `stop it first (recstream experiments stop ${experiment.id}) or start it under another id`,
    );
  checkExperiment(experiment, { running: experiments.running(), models });
  await publishExperiments(platform, [experiment]);
  return { experiment, replaced };
}

/**
 * Publishes a running experiment's `stopped` state.
 *
 * @throws ExperimentNotFoundError for an unknown id
 * @throws ExperimentConflictError on `id` when it is not running
 */
export async function stopExperiment(
  platform: Platform,
  id: string,
  reason = 'stopped by hand',
  now = Date.now(),
): Promise<Experiment> {
  const current = (await ExperimentRegistry.load(platform.log, platform.serde)).get(id);
  if (current === undefined) throw new ExperimentNotFoundError(id);
  if (current.status !== 'running')
    throw new ExperimentConflictError('id', `experiment ${id} is ${current.status} already`);
  const stopped: Experiment = { ...current, status: 'stopped', updated_ts: now, reason };
  await publishExperiments(platform, [stopped]);
  return stopped;
}

/**
 * An experiment's newest state.
 *
 * @throws ExperimentNotFoundError for an unknown id
 */
export async function readExperiment(platform: Platform, id: string): Promise<Experiment> {
  const experiment = (await ExperimentRegistry.load(platform.log, platform.serde)).get(id);
  if (experiment === undefined) throw new ExperimentNotFoundError(id);
  return experiment;
}
