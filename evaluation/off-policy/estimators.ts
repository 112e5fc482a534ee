/**
 * Off-policy estimators of a target policy's expected reward (click-through)
 * from a log written by another policy, the logging one, which recorded the
 * probability (`propensity`) with which it took each logged action:
 *
 * - **IPS** (inverse propensity scoring): the mean of w·r, w = π(a|x) / μ(a|x).
 *   Unbiased wherever μ(a|x) > 0 for every action π can take; its variance
 *   grows with the weights.
 * - **SNIPS** (self-normalised IPS): Σ w·r / Σ w. Biased by O(1/n), but its
 *   variance is far lower when weights are large, and it is bounded by the
 *   rewards.
 * - **DR** (doubly robust): a reward model's expectation under π, corrected
 *   by the weighted residual of the logged action: r̂_π(x) + w·(r − r̂(x, a)).
 *   Unbiased when either the propensities or the reward model are right, and
 *   of lower variance than IPS when the model is good. A decision the reward
 *   model has nothing for counts with r̂ = 0 there, its IPS term: DR stays
 *   unbiased whatever the model, so a few contexts without one do not take
 *   the estimate away.
 *
 * Intervals are 95 % intervals: the hull of the normal interval from the
 * per-decision terms' sample variance (for SNIPS by the delta method) and
 * the Wilson interval of a click-through at the estimate over the effective
 * sample size (Σw)² / Σw², the number of logged decisions the estimate is
 * worth. With heavy-tailed weights the sample variance alone undercovers:
 * when the few high-weight clicks are missing from the log, the estimate and
 * its variance are both too low, and the Wilson floor keeps the interval as
 * wide as that many decisions allow.
 *
 * None of them can value actions the logging policy never takes: a
 * deterministic logging policy (every propensity 1) supports only a target
 * that agrees with it. `estimateOffPolicy` therefore reports the share of
 * the target's probability that falls on unsupported actions and gives no
 * estimate when it is above `maxUnsupported`.
 *
 * @example
 * ```ts
 * const result = estimateOffPolicy(decisions);
 * if (result.supported) result.snips.value; else result.unsupportedMass;
 * ```
 */

import { wilsonInterval } from '../../lib/sequential-test.js';

/** One logged decision, seen from the target policy. */
export interface LoggedDecision {
  /** μ(a|x): probability with which the logging policy took the logged action. */
  readonly propensity: number;
  /** The observed reward of the logged action (a click: 1 or 0). */
  readonly reward: number;
  /** π(a|x): probability with which the target policy takes the logged action. */
  readonly target: number;
  /** Share of π(·|x) on actions the logging policy could not take (μ = 0); 0 when π stays in the log's support. */
  readonly unsupported?: number;
  /** r̂(x, a) of the logged action, from the reward model (DR). */
  readonly modelReward?: number;
  /** Σ_a π(a|x) r̂(x, a): the reward model's expectation under the target (DR). */
  readonly modelValue?: number;
}

/** An estimate with its 95 % interval. */
export interface Estimate {
  readonly value: number;
  /** The hull of the normal interval and the Wilson interval at the effective sample size. */
  readonly ci: readonly [number, number];
  /** The standard error from the per-decision terms' sample variance. */
  readonly stderr: number;
}

/** Every estimate of one target policy. */
export type OffPolicyResult =
  | {
      readonly supported: true;
      readonly decisions: number;
      readonly effectiveSampleSize: number;
      readonly unsupportedMass: number;
      readonly ips: Estimate;
      readonly snips: Estimate;
      /** Absent when no decision carries a reward model. */
      readonly dr: Estimate | undefined;
      /** Decisions DR took with r̂ = 0, having no reward model. */
      readonly withoutModel: number;
    }
  | {
      readonly supported: false;
      readonly decisions: number;
      readonly unsupportedMass: number;
      /** Why no estimate is given, for people. */
      readonly reason: string;
    };

const Z95 = 1.959963984540054;

function estimate(value: number, variance: number, n: number, effectiveSampleSize: number): Estimate {
  const stderr = Math.sqrt(Math.max(variance, 0) / n);
  const rate = Math.min(Math.max(value, 0), 1);
  const [low, high] = wilsonInterval({ successes: rate * effectiveSampleSize, trials: effectiveSampleSize });
  return {
    value,
    stderr,
    ci: [Math.min(value - Z95 * stderr, low), Math.max(value + Z95 * stderr, high)],
  };
}

function meanAndVariance(terms: Float64Array): { mean: number; variance: number } {
  let mean = 0;
  for (const t of terms) mean += t;
  mean /= terms.length;
  let variance = 0;
  for (const t of terms) variance += (t - mean) ** 2;
  variance /= Math.max(terms.length - 1, 1);
  return { mean, variance };
}

const modelled = (d: LoggedDecision) => d.modelReward !== undefined && d.modelValue !== undefined;

/** A decision's DR term at weight w: its IPS term where it has no reward model. */
function drTerm(d: LoggedDecision, w: number): number {
  return modelled(d) ? d.modelValue! + w * (d.reward - d.modelReward!) : w * d.reward;
}

function checkedWeight(d: LoggedDecision, i: number): number {
  if (!(d.propensity > 0 && d.propensity <= 1))
    throw new RangeError(`decision ${i}: propensity must be in (0, 1], got ${d.propensity}`);
  return d.target / d.propensity;
}

/**
 * IPS, SNIPS and (when every decision has a reward model) DR estimates of
 * the target policy's expected reward per decision.
 *
 * @param maxUnsupported - largest mean share of the target's probability on
 *   actions the log cannot support before no estimate is given (default
 *   0.05). Below it IPS counts those actions as unclicked, SNIPS as clicked
 *   like the supported ones, DR as its reward model says: IPS is low by
 *   the share times the target's click-through on them (0.002 at a share
 *   of 0.05 and a click-through of 0.04).
 */
export function estimateOffPolicy(
  decisions: readonly LoggedDecision[],
  maxUnsupported = 0.05,
): OffPolicyResult {
  const n = decisions.length;
  let unsupported = 0;
  for (const d of decisions) unsupported += d.unsupported ?? 0;
  const unsupportedMass = n === 0 ? 0 : unsupported / n;
  if (n === 0)
    return { supported: false, decisions: 0, unsupportedMass, reason: 'the log holds no decisions' };
  if (unsupportedMass > maxUnsupported)
    return {
      supported: false,
      decisions: n,
      unsupportedMass,
      reason:
        `${(unsupportedMass * 100).toFixed(1)} % of the target policy's choices are actions the logging policy never ` +
        'takes (propensity 0): no unbiased estimate exists for them; log with exploration to evaluate this policy',
    };
  const ipsTerms = new Float64Array(n);
  const weights = new Float64Array(n);
  let sumW = 0;
  let sumW2 = 0;
  let sumWR = 0;
  const withoutModel = decisions.filter((d) => !modelled(d)).length;
  const drTerms = withoutModel < n ? new Float64Array(n) : undefined;
  decisions.forEach((d, i) => {
    const w = checkedWeight(d, i);
    weights[i] = w;
    ipsTerms[i] = w * d.reward;
    sumW += w;
    sumW2 += w * w;
    sumWR += w * d.reward;
    if (drTerms) drTerms[i] = drTerm(d, w);
  });
  const ips = meanAndVariance(ipsTerms);
  const snipsValue = sumW > 0 ? sumWR / sumW : 0;
  // Delta method: Var(Σwr/Σw) ≈ E[w²(r − V)²] / (n · E[w]²).
  let snipsNumerator = 0;
  decisions.forEach((d, i) => {
    snipsNumerator += weights[i]! ** 2 * (d.reward - snipsValue) ** 2;
  });
  const meanW = sumW / n;
  const snipsVariance = meanW > 0 ? snipsNumerator / n / (meanW * meanW) : 0;
  const dr = drTerms ? meanAndVariance(drTerms) : undefined;
  const effectiveSampleSize = sumW2 > 0 ? (sumW * sumW) / sumW2 : 0;
  return {
    supported: true,
    decisions: n,
    effectiveSampleSize,
    unsupportedMass,
    ips: estimate(ips.mean, ips.variance, n, effectiveSampleSize),
    snips: estimate(snipsValue, snipsVariance, n, effectiveSampleSize),
    dr: dr ? estimate(dr.mean, dr.variance, n, effectiveSampleSize) : undefined,
    withoutModel,
  };
}

/** Two target policies compared on the same logged decisions. */
export type OffPolicyDifference =
  | {
      readonly supported: true;
      readonly decisions: number;
      /** `dr` when some decision carries both policies' reward models, else `ips`. */
      readonly estimator: 'dr' | 'ips';
      /** The candidate's estimate minus the baseline's, with its 95 % normal interval from the paired terms. */
      readonly difference: Estimate;
      readonly candidate: Estimate;
      readonly baseline: Estimate;
      readonly candidateEffectiveSampleSize: number;
      readonly baselineEffectiveSampleSize: number;
    }
  | {
      readonly supported: false;
      readonly decisions: number;
      readonly reason: string;
    };

/**
 * The difference between two target policies' expected rewards, estimated
 * on the same logged decisions: `candidate[i]` and `baseline[i]` are the
 * same logged action seen from each policy. Each decision's DR terms (IPS
 * terms where it has no reward model) are subtracted pairwise, so what the
 * two estimates share — the same clicks, the same heavy weights where the
 * policies agree — cancels, and the interval of the difference is far
 * narrower than the two intervals side by side.
 *
 * The interval is the normal one of the paired terms, with no Wilson floor:
 * a difference has no rate to floor. The floor each estimate gets is kept
 * in `candidate` and `baseline`.
 *
 * @example
 * ```ts
 * const diff = compareOffPolicy(candidateDecisions, promotedDecisions);
 * if (diff.supported && diff.difference.ci[1] < 0) console.log('significantly worse');
 * ```
 * @throws RangeError when the two logs are not the same length
 */
export function compareOffPolicy(
  candidate: readonly LoggedDecision[],
  baseline: readonly LoggedDecision[],
  maxUnsupported = 0.05,
): OffPolicyDifference {
  if (candidate.length !== baseline.length)
    throw new RangeError(
      `the two policies' decisions differ in number: ${candidate.length} and ${baseline.length}`,
    );
  const c = estimateOffPolicy(candidate, maxUnsupported);
  if (!c.supported) return { supported: false, decisions: c.decisions, reason: `the candidate: ${c.reason}` };
  const b = estimateOffPolicy(baseline, maxUnsupported);
  if (!b.supported) return { supported: false, decisions: b.decisions, reason: `the baseline: ${b.reason}` };
  const n = candidate.length;
  const terms = new Float64Array(n);
  for (let i = 0; i < n; i++)
    terms[i] =
      drTerm(candidate[i]!, checkedWeight(candidate[i]!, i)) -
      drTerm(baseline[i]!, checkedWeight(baseline[i]!, i));
  const { mean, variance } = meanAndVariance(terms);
  const stderr = Math.sqrt(Math.max(variance, 0) / n);
  const modelledBoth = candidate.some((d, i) => modelled(d) && modelled(baseline[i]!));
  return {
    supported: true,
    decisions: n,
    estimator: modelledBoth ? 'dr' : 'ips',
    difference: { value: mean, stderr, ci: [mean - Z95 * stderr, mean + Z95 * stderr] },
    candidate: modelledBoth ? c.dr! : c.ips,
    baseline: modelledBoth ? b.dr! : b.ips,
    candidateEffectiveSampleSize: c.effectiveSampleSize,
    baselineEffectiveSampleSize: b.effectiveSampleSize,
  };
}
