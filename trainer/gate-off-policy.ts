/**
 * The gate's off-policy step (`RECSTREAM_GATE_OFF_POLICY=true`), between
 * the offline holdout and a canary, as the trainer sees it: a version that
 * passes the holdout while another is promoted is published `candidate`,
 * marked as awaiting the step (`params.gate_pending` = `off-policy`,
 * ../registry/pending-gate-step.ts). The indexer builds its index as it
 * does for an experiment's variant. The step itself replays served lists
 * through the serving code, which sits above the trainer; the process that
 * runs the trainer hands it in (`TrainerOptions.offPolicyStep`:
 * evaluation/off-policy/gate-step.ts), and the trainer's rounds run it for
 * the oldest pending candidate before training again, then publish the
 * event this module builds: `promoted`, `candidate` with the gate's canary
 * (./gate-canary.ts), or `rejected`, the step no longer pending.
 *
 * The pending state is the version's own event, so a trainer that stops
 * half way resumes the step on its next round, and a replay of
 * `rec.model-versions` tells the whole decision.
 *
 * @example
 * ```ts
 * if (decision.promote && takesOffPolicyStep(config, promoted)) {
 *   const { reason, params } = awaitingOffPolicy(decision.reason, engineParams);
 *   await publishModelVersion(producer, { ...event, status: 'candidate', reason, params });
 * }
 * ```
 */

import { GATE_PENDING_PARAM, OFF_POLICY_STEP } from '../registry/pending-gate-step.js';
import type { Config } from '../runtime/config.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import type { GateDecision } from './gate.js';
import { passedStatus } from './gate-canary.js';

/** The param keeping the holdout's reason while the off-policy step is pending. */
const HOLDOUT_REASON_PARAM = 'gate_holdout_reason';

/** What a round does with a pending candidate: publish its next event, or wait (for its index). */
export type OffPolicyStep = { readonly event: ModelVersion } | { readonly waiting: string };

/** Runs the off-policy step of a pending candidate, given the promoted version it is compared with. */
export type OffPolicyStepRunner = (
  pending: ModelVersion,
  promoted: ModelVersion | undefined,
) => Promise<OffPolicyStep>;

/** Whether a version that passed the holdout goes to the off-policy step rather than straight on. */
export function takesOffPolicyStep(
  config: Pick<Config, 'gateOffPolicy'>,
  promoted: ModelVersion | undefined,
): boolean {
  return config.gateOffPolicy === 'true' && promoted !== undefined;
}

/** The reason and params of a version published `candidate` to await the off-policy step. */
export function awaitingOffPolicy(
  holdoutReason: string,
  params: Readonly<Record<string, string>>,
): { reason: string; params: Record<string, string> } {
  return {
    reason: `${holdoutReason}; awaiting the off-policy step`,
    params: { ...params, [GATE_PENDING_PARAM]: OFF_POLICY_STEP, [HOLDOUT_REASON_PARAM]: holdoutReason },
  };
}

/**
 * The pending version's next event: the step's decision with the holdout's
 * reason before it, its figures as metrics and params, the step no longer
 * pending; `candidate` with a canary to start when the gate's canary is on.
 *
 * @example
 * ```ts
 * settledOffPolicy(config, pending, promoted, { promote: false, reason: '… significantly below' });
 * ```
 */
export function settledOffPolicy(
  config: Pick<Config, 'gateCanaryPct'>,
  pending: ModelVersion,
  promoted: ModelVersion | undefined,
  decision: GateDecision,
  figures: {
    readonly metrics?: Readonly<Record<string, number>>;
    readonly params?: Readonly<Record<string, string>>;
  } = {},
): ModelVersion {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(pending.params))
    if (key !== GATE_PENDING_PARAM && key !== HOLDOUT_REASON_PARAM) params[key] = value;
  Object.assign(params, figures.params);
  if (decision.override !== undefined) params.gate_override = decision.override;
  if (promoted !== undefined) params.off_policy_compared = String(promoted.version);
  const status = decision.promote ? passedStatus(config, promoted) : 'rejected';
  const reason = `${pending.params[HOLDOUT_REASON_PARAM] ?? pending.reason ?? ''}; ${decision.reason}`;
  return {
    ...pending,
    metrics: { ...pending.metrics, ...figures.metrics },
    params,
    status,
    status_ts: Date.now(),
    reason: status === 'candidate' ? `${reason}; canary at ${config.gateCanaryPct} %` : reason,
  };
}
