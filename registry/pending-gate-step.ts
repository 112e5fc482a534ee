/**
 * Which model version awaits a step of the promotion gate after the
 * holdout: a `candidate` whose `params.gate_pending` names the step. The
 * trainer marks it (trainer/gate-off-policy.ts), the indexer builds its
 * index as it does for an experiment's variant, and the step, once run,
 * publishes the version's next event without the mark.
 *
 * @example
 * ```ts
 * const pending = pendingGateStep(registry, 'recstream', OFF_POLICY_STEP);
 * ```
 */
import type { ModelVersion } from '../schemas/generated/types.js';
import type { ModelRegistry } from './model-registry.js';

/** The param naming the gate step a `candidate` awaits. */
export const GATE_PENDING_PARAM = 'gate_pending';
/** The off-policy step: the candidate's estimate on the served lists against the promoted version's. */
export const OFF_POLICY_STEP = 'off-policy';

/** The oldest version of `model` that is a `candidate` awaiting `step`; undefined when none does. */
export function pendingGateStep(
  registry: ModelRegistry,
  model: string,
  step: string,
): ModelVersion | undefined {
  return registry
    .versions(model)
    .find((v) => v.status === 'candidate' && v.params[GATE_PENDING_PARAM] === step);
}
