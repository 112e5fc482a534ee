/**
 * The statistics of online experiments: a proportion's interval at this
 * moment (Wilson score), and an always-valid test of the difference of two
 * proportions, the mixture sequential probability ratio test (mSPRT) with a
 * normal mixture of Johari, Pekelis and Walsh ("Peeking at A/B tests",
 * KDD 2017). Its statistic Λ is a martingale under the null, so by Ville's
 * inequality P(Λ ever reaches 1/α) ≤ α: the p-value `min over time of 1/Λ`
 * and the confidence sequence `{θ : Λ(θ) < 1/α}` stay valid however often
 * an experiment is looked at. The two-sample difference is taken as normal
 * with its plug-in variance (the paper's large-sample form), each arm's
 * rate taken as (x + ½)/(n + 1) in the variance so an arm with no
 * successes yet still has one; the test is not run before each arm has
 * `MIN_TRIALS` trials and both together `MIN_OUTCOMES` successes and
 * failures.
 *
 * Trials are not independent when one unit of assignment (a user) makes
 * many of them: a user who clicks a lot clicks a lot in every list, so the
 * binomial variance of a click-through per impression understates its
 * spread and the test would reject too early. An arm that carries its
 * per-unit sums (`UnitSums`) gets the delta-method variance of a ratio
 * over units (Deng, Knoblich and Lu, "Applying the Delta Method in Metric
 * Analytics", KDD 2018), never below the binomial one.
 *
 * @example
 * ```ts
 * const test = differenceTest({ successes: 52, trials: 1000 }, { successes: 81, trials: 1000 });
 * test?.p;        // 1/Λ now; keep the running minimum for the always-valid p-value
 * test?.interval; // [lo, hi] of p_b − p_a, valid uniformly over time
 * ```
 */

/** A count of Bernoulli outcomes (clicks of impressions, fallbacks of requests, …). */
export interface Proportion {
  readonly successes: number;
  readonly trials: number;
  /** The sums over the units of assignment the trials came from; absent: the trials are taken as independent. */
  readonly units?: UnitSums;
}

/** Over the units (users) of an arm, with x a unit's successes and n its trials: their count, Σx², Σn² and Σx·n. */
export interface UnitSums {
  readonly count: number;
  readonly successesSq: number;
  readonly trialsSq: number;
  readonly cross: number;
}

/** The test's settings: the level and the mixture's standard deviation (absolute, in the proportion's units). */
export interface SequentialOptions {
  readonly alpha: number;
  readonly tau: number;
}

/**
 * α 0.05; τ 0.02: the mixture's spread matches the absolute differences
 * of click-through worth detecting (one to a few points on rates of 2 to
 * 20 %), where the mSPRT is most powerful (Johari et al. §4.2).
 */
export const DEFAULT_SEQUENTIAL: SequentialOptions = { alpha: 0.05, tau: 0.02 };

/** Successes, and failures, both arms together need before the normal approximation is trusted. */
export const MIN_OUTCOMES = 10;

/** Trials each arm needs before it is tested. */
export const MIN_TRIALS = 100;

/** The standard normal quantile of 0.975, for two-sided 95 % intervals. */
const Z95 = 1.959963984540054;

/** The proportion, 0 without trials. */
export function rate(p: Proportion): number {
  return p.trials === 0 ? 0 : p.successes / p.trials;
}

/** The 95 % Wilson score interval of a proportion (valid at a fixed moment, not under peeking); [0, 1] without trials. */
export function wilsonInterval(p: Proportion, z = Z95): [number, number] {
  if (p.trials === 0) return [0, 1];
  const n = p.trials;
  const phat = p.successes / n;
  const z2 = z * z;
  const centre = (phat + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((phat * (1 - phat)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Whether two arms have enough trials, successes and failures for the normal approximation. */
export function testable(a: Proportion, b: Proportion): boolean {
  const successes = a.successes + b.successes;
  const failures = a.trials + b.trials - successes;
  return (
    a.trials >= MIN_TRIALS && b.trials >= MIN_TRIALS && successes >= MIN_OUTCOMES && failures >= MIN_OUTCOMES
  );
}

/**
 * The variance of an arm's rate: the binomial one, its rate taken as
 * (x + ½)/(n + 1) so it is never 0, or with per-unit sums of at least two
 * units the delta method's when that is larger.
 */
export function rateVariance(p: Proportion): number {
  const shrunk = (p.successes + 0.5) / (p.trials + 1);
  const binomial = (shrunk * (1 - shrunk)) / p.trials;
  const units = p.units;
  if (units === undefined || units.count < 2) return binomial;
  return Math.max(binomial, ratioVariance(p.successes, p.trials, units));
}

/**
 * Var(X̄/N̄) over k units by the delta method: (s²_x − 2R·s_xn + R²·s²_n) / (k·N̄²),
 * R = X/N, with the units' sample variances and covariance.
 */
function ratioVariance(successes: number, trials: number, u: UnitSums): number {
  const k = u.count;
  const r = successes / trials;
  const meanTrials = trials / k;
  const sx = (u.successesSq - (successes * successes) / k) / (k - 1);
  const sn = (u.trialsSq - (trials * trials) / k) / (k - 1);
  const sxn = (u.cross - (successes * trials) / k) / (k - 1);
  return (sx - 2 * r * sxn + r * r * sn) / (k * meanTrials * meanTrials);
}

/** The mSPRT for θ = estimate's mean minus θ0: 1/Λ, capped at 1. `variance` is the estimate's. */
export function mixtureP(estimate: number, theta0: number, variance: number, tau: number): number {
  const v = variance;
  const t2 = tau * tau;
  const d = estimate - theta0;
  const logLambda = 0.5 * Math.log(v / (v + t2)) + (d * d * t2) / (2 * v * (v + t2));
  return Math.min(1, Math.exp(-logLambda));
}

/** Half-width of the confidence sequence `{θ : Λ(θ) < 1/α}` around the estimate. */
export function mixtureRadius(variance: number, options: SequentialOptions): number {
  const v = variance;
  const t2 = options.tau * options.tau;
  return Math.sqrt(((v * (v + t2)) / t2) * (2 * Math.log(1 / options.alpha) + Math.log((v + t2) / v)));
}

/** The test of b against a at one moment. */
export interface DifferenceTest {
  /** p_b − weight · p_a. */
  readonly estimate: number;
  /** 1/Λ for θ = 0 now; the always-valid p-value is the running minimum of this over the experiment. */
  readonly p: number;
  /** Confidence sequence of the difference: valid at every moment at once, at level α. */
  readonly interval: [number, number];
}

/**
 * The mSPRT of b against a on the difference `p_b − weight · p_a` (weight
 * 1 tests equality; 0.9 asks whether b is below 90 % of a, a guardrail's
 * tolerance). Undefined while the arms are not `testable`.
 */
export function differenceTest(
  a: Proportion,
  b: Proportion,
  options: SequentialOptions = DEFAULT_SEQUENTIAL,
  weight = 1,
): DifferenceTest | undefined {
  if (!testable(a, b)) return undefined;
  const variance = weight * weight * rateVariance(a) + rateVariance(b);
  const estimate = rate(b) - weight * rate(a);
  const radius = mixtureRadius(variance, options);
  return {
    estimate,
    p: mixtureP(estimate, 0, variance, options.tau),
    interval: [estimate - radius, estimate + radius],
  };
}

/**
 * The sentence a statistician signs for b against control a, from the
 * always-valid p-value (the running minimum) and the current estimate.
 *
 * @example
 * ```ts
 * verdict('candidate', 'control', 0.003, 0.012, 0.05); // 'candidate better than control (always-valid p=0.003)'
 * ```
 */
export function verdict(
  variant: string,
  control: string,
  alwaysValidP: number | null,
  estimate: number | null,
  alpha: number,
): string {
  if (alwaysValidP === null || estimate === null)
    return `not enough data yet: ${variant} and ${control} need ${MIN_TRIALS} impressions each and ${MIN_OUTCOMES} clicks together`;
  const p = `always-valid p=${formatP(alwaysValidP)}`;
  if (alwaysValidP > alpha) return `no significant difference yet between ${variant} and ${control} (${p})`;
  return `${variant} ${estimate > 0 ? 'better' : 'worse'} than ${control} (${p})`;
}

function formatP(p: number): string {
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}
