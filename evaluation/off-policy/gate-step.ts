/**
 * The promotion gate's off-policy step (`RECSTREAM_GATE_OFF_POLICY=true`;
 * the trainer's side: trainer/gate-off-policy.ts): once a pending
 * candidate's index is there, the lists served in the window before the
 * candidate was published are replayed through it and through the promoted
 * version (./off-policy-comparison.ts), and the paired difference of their
 * click-through decides:
 *
 * - significantly below (the 95 % interval of the difference entirely
 *   below 0): rejected, with both estimates and the difference;
 * - otherwise it passes: promoted, or a canary when the gate starts one;
 * - the step cannot run (lists served without exploration, too few of
 *   them, no index within RECSTREAM_GATE_OFF_POLICY_WAIT_MS): rejected with
 *   the reason, unless RECSTREAM_GATE_ALLOW_UNCOMPARED lets it pass,
 *   recorded as `gate_override` — as for the holdout's comparison.
 *
 * Only "significantly below" rejects: two versions the log cannot tell
 * apart pass, so the step stops a regression the served lists can see
 * without holding back a retrain on noise. The window ends at the
 * candidate's publication, so the step run again reads the same lists.
 *
 * @example
 * ```ts
 * const trainer = new Trainer({ platform, store, offPolicyStep: offPolicyStepRunner(platform, { store, online }) });
 * ```
 */

import { openServingStore } from '../../app/serving-store.js';
import { IndexRegistry } from '../../registry/index-registry.js';
import { type ArtifactStore, artifactStore } from '../../registry/model-store.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Platform } from '../../runtime/platform.js';
import type { GateDecision } from '../../trainer/gate.js';
import { type OffPolicyStepRunner, settledOffPolicy } from '../../trainer/gate-off-policy.js';
import { type OffPolicyComparison, offPolicyComparison } from './off-policy-comparison.js';

const fmt = (x: number) => x.toFixed(4);

/**
 * The step's decision from the comparison: rejected when the candidate is
 * significantly below, or when the comparison cannot run and
 * `allowUncompared` is off.
 *
 * @example
 * ```ts
 * offPolicyDecision(comparison, false).reason; // 'off-policy click-through (DR, …) 0.0312 vs … : significantly below'
 * ```
 */
export function offPolicyDecision(comparison: OffPolicyComparison, allowUncompared: boolean): GateDecision {
  if (!comparison.supported)
    return cannotRun(
      `the off-policy step cannot run over ${comparison.evaluatedLists} replayed lists: ${comparison.reason}`,
      allowUncompared,
    );
  const { difference: d, candidate, baseline } = comparison;
  const figures =
    `off-policy click-through (${comparison.estimator.toUpperCase()}, ${comparison.decisions} decisions of ` +
    `${comparison.evaluatedLists} lists) ${fmt(candidate.value)} vs the promoted ${comparison.baselineLabel}'s ` +
    `${fmt(baseline.value)}, difference ${fmt(d.value)} [${fmt(d.ci[0])}, ${fmt(d.ci[1])}]`;
  return d.ci[1] < 0
    ? { promote: false, reason: `${figures}: significantly below` }
    : { promote: true, reason: figures };
}

function cannotRun(missing: string, allowUncompared: boolean): GateDecision {
  return allowUncompared
    ? { promote: true, reason: `gate_override: ${missing}`, override: missing }
    : { promote: false, reason: `${missing} (RECSTREAM_GATE_ALLOW_UNCOMPARED=true promotes without it)` };
}

/** The comparison's figures as the version's metrics and params. */
function figuresOf(comparison: OffPolicyComparison): Parameters<typeof settledOffPolicy>[4] {
  if (!comparison.supported) return { metrics: { off_policy_lists: comparison.evaluatedLists } };
  return {
    metrics: {
      off_policy_lists: comparison.evaluatedLists,
      off_policy_decisions: comparison.decisions,
      off_policy_ctr: comparison.candidate.value,
      off_policy_promoted_ctr: comparison.baseline.value,
      off_policy_difference: comparison.difference.value,
      off_policy_difference_low: comparison.difference.ci[0],
      off_policy_difference_high: comparison.difference.ci[1],
      off_policy_effective_sample_size: comparison.candidateEffectiveSampleSize,
    },
    params: { off_policy_estimator: comparison.estimator },
  };
}

export interface OffPolicyStepOptions {
  readonly store: ArtifactStore;
  /** The online store the replays read; undefined: one is opened for each step (Redis, or the `features` application in this process). */
  readonly online?: OnlineStore;
}

/** The step as the trainer runs it (`TrainerOptions.offPolicyStep`). */
export function offPolicyStepRunner(platform: Platform, options: OffPolicyStepOptions): OffPolicyStepRunner {
  const { config, log, serde, logger } = platform;
  const allowUncompared = config.gateAllowUncompared === 'true';
  return async (pending, promoted) => {
    const label = `${pending.model}@${pending.version}`;
    if (promoted === undefined)
      return {
        event: settledOffPolicy(config, pending, undefined, {
          promote: true,
          reason: 'no version is promoted any more: nothing to compare with',
        }),
      };
    const indexes = await IndexRegistry.load(log, serde);
    if (indexes.fullFor(config.indexName, pending.model, pending.version) === undefined) {
      const waited = Date.now() - pending.status_ts;
      if (waited <= config.gateOffPolicyWaitMs)
        return {
          waiting: `${label} awaits its index for the off-policy step (${Math.round(waited / 1000)} s of RECSTREAM_GATE_OFF_POLICY_WAIT_MS=${config.gateOffPolicyWaitMs})`,
        };
      const missing = `no index of ${label} within RECSTREAM_GATE_OFF_POLICY_WAIT_MS=${config.gateOffPolicyWaitMs}: the off-policy step cannot run`;
      return { event: settledOffPolicy(config, pending, promoted, cannotRun(missing, allowUncompared)) };
    }
    const serving = options.online === undefined ? await openServingStore(platform) : undefined;
    try {
      const comparison = await offPolicyComparison(platform, {
        online: options.online ?? serving!.online,
        store: options.store,
        candidate: label,
        baseline: `${promoted.model}@${promoted.version}`,
        from: pending.status_ts - config.gateOffPolicyWindowMs,
        to: pending.status_ts,
        maxUnsupported: config.gateOffPolicyMaxUnsupported,
      });
      const decision = offPolicyDecision(comparison, allowUncompared);
      logger.info(
        { model: pending.model, version: pending.version, promote: decision.promote },
        decision.reason,
      );
      return { event: settledOffPolicy(config, pending, promoted, decision, figuresOf(comparison)) };
    } finally {
      await serving?.close();
    }
  };
}

/**
 * The step over the data dir's artifact store, reading the online store a
 * process's responder opened: what `serve`, `up` and the demo hand to
 * their trainer and admin API.
 *
 * @example
 * ```ts
 * const serving = await startServing(platform, servingOffPolicyStep(platform));
 * ```
 */
export function servingOffPolicyStep(platform: Platform): (online: OnlineStore) => OffPolicyStepRunner {
  return (online) => offPolicyStepRunner(platform, { store: artifactStore(platform.config.dataDir), online });
}
