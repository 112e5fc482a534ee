/**
 * An experiment's figures as people and the canary controller read them:
 * per variant the counts, click-through per impression with its 95 %
 * Wilson interval, engaged time per request, fallback rate and latency
 * p50/p99; per non-control variant the always-valid test of its
 * click-through against the control's and the verdict.
 *
 * The store value (`ExperimentFiguresValue`) holds sums and, per variant,
 * the running minimum of the test's 1/Λ: that minimum is the always-valid
 * p-value, and it depends on every moment the experiment was looked at,
 * so the processor keeps it rather than the reader.
 *
 * @example
 * ```ts
 * const report = experimentReport(value, experiment);
 * for (const v of report.variants) console.log(v.name, v.ctr, v.ctr_ci, v.verdict);
 * ```
 */

import {
  DEFAULT_SEQUENTIAL,
  differenceTest,
  rate,
  verdict,
  wilsonInterval,
} from '../../lib/sequential-test.js';
import type { Experiment } from '../../schemas/generated/types.js';
import { controlVariant } from './canary.js';
import { clickThrough, latencyQuantile, type VariantFigures } from './figures.js';

export const EXPERIMENT_FIGURES_STORE = 'experiment-figures';

/** One variant in the store. */
export interface StoredVariant {
  readonly shadow: boolean;
  /** Since the experiment began. */
  readonly total: VariantFigures;
  /** Since the canary step in effect began (the whole experiment without a canary). */
  step: VariantFigures;
  /** Running minimum of 1/Λ of its click-through against the control's; null until first testable. */
  min_p: number | null;
}

/** Store `experiment-figures`, key experiment id. */
export interface ExperimentFiguresValue {
  readonly experiment_id: string;
  /** The canary step the `step` figures are of (0 without a canary). */
  step: number;
  /** Event time of the newest outcome counted. */
  updated_ts: number;
  /** The control's name, as the processor tested against it. */
  control: string | null;
  variants: Record<string, StoredVariant>;
  /**
   * The canary controller's newest decision, kept until the `rec.experiments`
   * table shows it: stored with the figures so that a task made again (a
   * rebalance, a restart) does not decide a second time while the table lags.
   */
  decided?: Experiment;
  /**
   * Why the canary controller held after the newest outcome it counted
   * (`decideCanary`'s reason: the sample a step still needs, or a step not
   * yet lasted); absent once it decides, and for an experiment that is not
   * a running canary. A hold writes no event, so this is where an operator
   * reads why a canary does not move.
   */
  holding?: string;
}

export interface VariantReport {
  readonly name: string;
  readonly shadow: boolean;
  readonly control: boolean;
  readonly requests: number;
  /** Users served by the variant: the units its click-through's variance is taken over. */
  readonly users: number;
  readonly impressions: number;
  readonly clicks: number;
  readonly ctr: number;
  readonly ctr_ci: [number, number];
  readonly engaged_ms: number;
  readonly engaged_ms_per_request: number;
  readonly fallbacks: number;
  readonly fallback_rate: number;
  /** Lists the variant's model failed to make (served popularity, `model_error`), and their share of its requests. */
  readonly errors: number;
  readonly error_rate: number;
  readonly latency_p50_ms: number | null;
  readonly latency_p99_ms: number | null;
  /** A shadow variant's mean Jaccard overlap with the shown lists of the same requests; null when none was measured. */
  readonly overlap_jaccard: number | null;
  /** Click-through minus the control's; null for the control, a shadow variant, or too few outcomes. */
  readonly ctr_diff: number | null;
  /** Confidence sequence of ctr_diff (valid under continuous monitoring). */
  readonly ctr_diff_ci: [number, number] | null;
  /** The always-valid p-value of ctr_diff ≠ 0. */
  readonly p_value: number | null;
  readonly verdict: string | null;
}

export interface ExperimentReport {
  readonly experiment_id: string;
  readonly status: string | null;
  readonly updated_ts: number;
  readonly control: string | null;
  readonly canary_step: number | null;
  /** Why a running canary's controller holds, e.g. `step 1 needs 600 impressions and 30 effective users per variant: …`; null otherwise. */
  readonly canary_holding: string | null;
  readonly alpha: number;
  readonly variants: VariantReport[];
}

function safeDiv(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

/** The control a value is tested against: the experiment's, else the first non-shadow variant by name. */
export function controlName(
  value: ExperimentFiguresValue,
  experiment: Experiment | undefined,
): string | null {
  const declared = experiment === undefined ? undefined : controlVariant(experiment)?.name;
  if (declared !== undefined) return declared;
  return (
    Object.keys(value.variants)
      .filter((name) => !value.variants[name]!.shadow)
      .sort()[0] ?? null
  );
}

/** The report of a stored value; `experiment` (its current state) names the status and the control. */
export function experimentReport(value: ExperimentFiguresValue, experiment?: Experiment): ExperimentReport {
  const options = DEFAULT_SEQUENTIAL;
  const control = value.control ?? controlName(value, experiment);
  const controlTotal = control === null ? undefined : value.variants[control]?.total;
  const variants = Object.keys(value.variants)
    .sort()
    .map((name): VariantReport => {
      const stored = value.variants[name]!;
      const f = stored.total;
      const clicks = clickThrough(f);
      const compared = !stored.shadow && name !== control && controlTotal !== undefined;
      const test = compared ? differenceTest(clickThrough(controlTotal), clicks, options) : undefined;
      return {
        name,
        shadow: stored.shadow,
        control: name === control,
        requests: f.requests,
        users: f.users,
        impressions: f.impressions,
        clicks: f.clicks,
        ctr: rate(clicks),
        ctr_ci: wilsonInterval(clicks),
        engaged_ms: f.engaged_ms,
        engaged_ms_per_request: safeDiv(f.engaged_ms, f.requests),
        fallbacks: f.fallbacks,
        fallback_rate: safeDiv(f.fallbacks, f.requests),
        errors: f.errors ?? 0,
        error_rate: safeDiv(f.errors ?? 0, f.requests),
        latency_p50_ms: latencyQuantile(f, 0.5),
        latency_p99_ms: latencyQuantile(f, 0.99),
        overlap_jaccard: f.overlaps === 0 ? null : f.overlap_sum / f.overlaps,
        ctr_diff: test?.estimate ?? null,
        ctr_diff_ci: test?.interval ?? null,
        p_value: compared ? stored.min_p : null,
        verdict: compared
          ? verdict(name, control!, stored.min_p, test?.estimate ?? null, options.alpha)
          : null,
      };
    });
  return {
    experiment_id: value.experiment_id,
    status: experiment?.status ?? null,
    updated_ts: value.updated_ts,
    control,
    canary_step: experiment?.canary?.step ?? null,
    canary_holding:
      experiment?.status === 'running' && experiment.canary !== null ? (value.holding ?? null) : null,
    alpha: options.alpha,
    variants,
  };
}
