/**
 * The canary controller's decision, a pure function of an experiment's
 * state and its variants' figures in the step in effect, at event time
 * `now`:
 *
 * - **hold** until both candidate and control have the step's minimum
 *   sample: `min_impressions` impressions and `min_users` effective users
 *   (Kish: (Σn)² / Σn² over the users' impressions n, so that a few heavy
 *   users count as few). Neither a rollback nor a growth is decided on
 *   fewer: with a handful of users per arm two equal models' arms differ
 *   by their users alone;
 * - **rollback** when a guardrail is breached with significance: the
 *   confidence sequence of (candidate − control, the control moved by the
 *   guardrail's tolerance) lies wholly on the bad side. The sequence is
 *   valid at every moment at once, so checking after every outcome keeps
 *   false rollbacks within α per step when its variance holds; the A/A
 *   runs of docs/experiments.md measure it on the live canary;
 * - **grow** to the next step once the step lasted `min_step_ms`, no
 *   guardrail being breached;
 * - **promote** instead of growing into the last step (share 1): the
 *   candidate then serves everyone as the promoted model, and the
 *   experiment is concluded;
 * - **hold** otherwise.
 *
 * Guardrails: `ctr` (candidate below control × (1 − tolerance)),
 * `fallback_rate` (fallbacks per request above control × (1 + tolerance)),
 * `latency_p99_ms` (the candidate's share of requests slower than the
 * control's p99 × (1 + tolerance) above the control's share) and
 * `error_rate` (lists the variant's model failed to make, served as
 * popularity with fallback `model_error`, per request above control ×
 * (1 + tolerance)).
 *
 * @example
 * ```ts
 * const decision = decideCanary(experiment, stepFigures, outcome.ts);
 * if (decision.action === 'rollback') publish(concluded(experiment, decision.reason, outcome.ts));
 * ```
 */

import {
  DEFAULT_SEQUENTIAL,
  differenceTest,
  type Proportion,
  type SequentialOptions,
} from '../../lib/sequential-test.js';
import type { Experiment, ExperimentVariant, Guardrail } from '../../schemas/generated/types.js';
import { clickThrough, latencyCount, latencyQuantile, slowerThan, type VariantFigures } from './figures.js';

export type CanaryDecision =
  | { readonly action: 'hold'; readonly reason: string }
  | { readonly action: 'grow'; readonly step: number; readonly reason: string }
  | { readonly action: 'promote'; readonly reason: string }
  | { readonly action: 'rollback'; readonly reason: string };

/** What one guardrail says about the candidate against the control. */
export interface GuardrailCheck {
  readonly metric: string;
  readonly breached: boolean;
  readonly detail: string;
}

/** The control of an experiment: the non-shadow variant serving `promoted`, else the first non-shadow one other than `except`. */
export function controlVariant(experiment: Experiment, except?: string): ExperimentVariant | undefined {
  const served = experiment.variants.filter((v) => !v.shadow && v.name !== except);
  return served.find((v) => v.model === 'promoted') ?? served[0];
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}

function proportionCheck(
  metric: string,
  control: Proportion,
  candidate: Proportion,
  worse: 'lower' | 'higher',
  tolerance: number,
  options: SequentialOptions,
): GuardrailCheck {
  const weight = worse === 'lower' ? 1 - tolerance : 1 + tolerance;
  const test = differenceTest(control, candidate, options, weight);
  const rates = `candidate ${pct(candidate.successes / Math.max(1, candidate.trials))} vs control ${pct(control.successes / Math.max(1, control.trials))}`;
  if (test === undefined)
    return { metric, breached: false, detail: `${metric}: ${rates}, too few outcomes to test` };
  const [lo, hi] = test.interval;
  const breached = worse === 'lower' ? hi < 0 : lo > 0;
  const sign = worse === 'lower' ? 'below' : 'above';
  return {
    metric,
    breached,
    detail: `${metric}: ${rates}${breached ? `, ${sign} control beyond tolerance ${tolerance} with significance` : ''} (always-valid p=${test.p.toPrecision(2)})`,
  };
}

/** Checks one guardrail of the candidate against the control. */
export function checkGuardrail(
  guardrail: Guardrail,
  control: VariantFigures,
  candidate: VariantFigures,
  options: SequentialOptions = DEFAULT_SEQUENTIAL,
): GuardrailCheck {
  const { metric, tolerance } = guardrail;
  switch (metric) {
    case 'ctr':
      return proportionCheck(
        metric,
        clickThrough(control),
        clickThrough(candidate),
        'lower',
        tolerance,
        options,
      );
    case 'fallback_rate':
      return proportionCheck(
        metric,
        { successes: control.fallbacks, trials: control.requests },
        { successes: candidate.fallbacks, trials: candidate.requests },
        'higher',
        tolerance,
        options,
      );
    case 'latency_p99_ms': {
      const p99 = latencyQuantile(control, 0.99);
      if (p99 === null || !Number.isFinite(p99))
        return { metric, breached: false, detail: `${metric}: the control's p99 is not measured` };
      const limit = p99 * (1 + tolerance);
      const check = proportionCheck(
        metric,
        { successes: slowerThan(control, limit), trials: latencyCount(control) },
        { successes: slowerThan(candidate, limit), trials: latencyCount(candidate) },
        'higher',
        0,
        options,
      );
      return { ...check, detail: `${check.detail}; share of requests slower than ${limit.toFixed(1)} ms` };
    }
    case 'error_rate':
      return proportionCheck(
        metric,
        { successes: control.errors ?? 0, trials: control.requests },
        { successes: candidate.errors ?? 0, trials: candidate.requests },
        'higher',
        tolerance,
        options,
      );
    default:
      return { metric, breached: false, detail: `${metric}: not a guardrail the controller measures` };
  }
}

/**
 * Kish's effective number of users of some figures: (Σn)² / Σn² over the
 * users' impressions n; 0 without per-user sums.
 *
 * @example
 * ```ts
 * effectiveUsers(figures); // 100 users of 10 impressions each: 100; one of 910 and 99 of 1: about 1.2
 * ```
 */
export function effectiveUsers(figures: VariantFigures): number {
  const squares = figures.user_impressions_sq ?? 0;
  return squares > 0 ? (figures.impressions * figures.impressions) / squares : 0;
}

/** The variants with the candidate at `share` and the other served variants scaled to the rest. */
export function withCandidateShare(
  experiment: Experiment,
  candidate: string,
  share: number,
): ExperimentVariant[] {
  const others = experiment.variants.filter((v) => !v.shadow && v.name !== candidate);
  const total = others.reduce((sum, v) => sum + v.share, 0);
  return experiment.variants.map((v) => {
    if (v.shadow) return v;
    if (v.name === candidate) return { ...v, share };
    return { ...v, share: total > 0 ? (1 - share) * (v.share / total) : (1 - share) / others.length };
  });
}

/**
 * The controller's decision for a running canary; `step` holds each
 * variant's figures since the step in effect began.
 */
export function decideCanary(
  experiment: Experiment,
  step: Readonly<Record<string, VariantFigures>>,
  now: number,
  options: SequentialOptions = DEFAULT_SEQUENTIAL,
): CanaryDecision {
  const plan = experiment.canary;
  if (experiment.status !== 'running' || plan === null)
    return { action: 'hold', reason: 'not a running canary' };
  const candidateName = plan.candidate;
  const control = controlVariant(experiment, candidateName);
  const candidate = step[candidateName];
  const share = plan.steps[plan.step] ?? 1;
  const controlFigures = control === undefined ? undefined : step[control.name];
  const minUsers = plan.min_users ?? 0;
  const enough = (f: VariantFigures | undefined) =>
    (f?.impressions ?? 0) >= plan.min_impressions &&
    (minUsers === 0 || (f !== undefined && effectiveUsers(f) >= minUsers));
  if (!enough(candidate) || (share < 1 && !enough(controlFigures))) {
    const users = (f: VariantFigures | undefined) =>
      `${f?.impressions ?? 0} impressions, ${(f === undefined ? 0 : effectiveUsers(f)).toFixed(1)} effective users`;
    return {
      action: 'hold',
      reason: `step ${plan.step + 1} needs ${plan.min_impressions} impressions and ${minUsers} effective users per variant: candidate ${users(candidate)}, control ${users(controlFigures)}`,
    };
  }
  if (control !== undefined && controlFigures !== undefined && candidate !== undefined) {
    const checks = experiment.guardrails.map((g) => checkGuardrail(g, controlFigures, candidate, options));
    const breach = checks.find((c) => c.breached);
    if (breach !== undefined)
      return {
        action: 'rollback',
        reason: `canary rolled back at step ${plan.step + 1} of ${plan.steps.length} (${pct(share)}): guardrail ${breach.detail}`,
      };
  }
  if (now - plan.step_started_ts < plan.min_step_ms)
    return { action: 'hold', reason: `step ${plan.step + 1} has not lasted ${plan.min_step_ms} ms` };
  const next = plan.step + 1;
  const held = experiment.guardrails.map((g) => g.metric).join(', ') || 'none';
  if (share >= 1 || next >= plan.steps.length || plan.steps[next]! >= 1)
    return {
      action: 'promote',
      reason: `canary promoted ${candidateName} after step ${plan.step + 1} of ${plan.steps.length} (${pct(share)}); guardrails held: ${held}`,
    };
  return {
    action: 'grow',
    step: next,
    reason: `canary step ${next + 1} of ${plan.steps.length}: ${candidateName} at ${pct(plan.steps[next]!)}; guardrails held: ${held}`,
  };
}

/** The experiment's next state after a decision other than hold, written at `now`. */
export function nextExperimentState(
  experiment: Experiment,
  decision: CanaryDecision,
  now: number,
): Experiment {
  const plan = experiment.canary!;
  switch (decision.action) {
    case 'grow':
      return {
        ...experiment,
        variants: withCandidateShare(experiment, plan.candidate, plan.steps[decision.step]!),
        canary: { ...plan, step: decision.step, step_started_ts: now },
        reason: decision.reason,
        updated_ts: now,
      };
    case 'promote':
    case 'rollback':
      return { ...experiment, status: 'concluded', reason: decision.reason, updated_ts: now };
    default:
      return experiment;
  }
}
