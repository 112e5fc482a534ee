/**
 * An experiment's online figures, per variant: sums of the deltas in
 * `rec.experiment-outcomes`, so they merge by addition and equal a count
 * done from the raw topics. The responder's latency is a fixed histogram
 * (log-spaced buckets, 25 % apart from 0.5 ms to about a minute), so a p99
 * is read from it and two histograms merge bucket by bucket. Each variant
 * keeps its figures over the whole experiment (`total`) and over the
 * canary step in effect (`step`), which the canary controller decides on.
 * Beside the sums, the per-user sums of squares the click-through's
 * variance over users reads (`users`, `user_*`, lib/sequential-test.ts): each
 * user's own counts are in store `experiment-user-figures`
 * (`UserCounts`), so that adding an outcome changes Σx² by (x + Δ)² − x².
 *
 * @example
 * ```ts
 * const figures = emptyFigures();
 * addOutcome(figures, outcome);
 * figures.clicks / figures.impressions; // click-through per impression
 * latencyQuantile(figures, 0.99);       // upper bound of the bucket holding the p99, ms
 * ```
 */

import type { Proportion } from '../../lib/sequential-test.js';
import type { ExperimentOutcome } from '../../schemas/generated/types.js';

/** Upper bounds of the latency buckets, ms; the last bucket is open-ended. */
export const LATENCY_BOUNDS_MS: readonly number[] = Array.from(
  { length: 50 },
  (_, i) => Math.round(0.5 * 1.25 ** i * 1000) / 1000,
);

/** Mergeable figures of one variant over some span. */
export interface VariantFigures {
  requests: number;
  impressions: number;
  clicks: number;
  engaged_ms: number;
  fallbacks: number;
  /** Lists the variant's model failed to make (served popularity, `model_error`). */
  errors: number;
  /** Shadow lists with a measured overlap, and the sum of their Jaccard overlaps with the shown lists. */
  overlaps: number;
  overlap_sum: number;
  /** Requests per latency bucket (LATENCY_BOUNDS_MS, then one open-ended bucket); lists without took_ms are not in it. */
  latency: number[];
  /** Users counted, and over them Σ clicks², Σ impressions² and Σ clicks·impressions. */
  users: number;
  user_clicks_sq: number;
  user_impressions_sq: number;
  user_clicks_impressions: number;
}

/** Store of each user's counts per experiment and variant (`userCountsKey`). */
export const EXPERIMENT_USER_FIGURES_STORE = 'experiment-user-figures';

/** One user's clicks and impressions in one variant: over the experiment, and over canary step `step` (-1: none yet). */
export interface UserCounts {
  clicks: number;
  impressions: number;
  step: number;
  step_clicks: number;
  step_impressions: number;
}

/**
 * The store key of a user's counts; an outcome without a user (written
 * before outcomes named theirs) is a unit of its own, by its outcome id.
 */
export function userCountsKey(outcome: ExperimentOutcome): string {
  const unit = outcome.user_id === '' ? `outcome/${outcome.outcome_id}` : `user/${outcome.user_id}`;
  return `${outcome.experiment_id}\u0000${outcome.variant}\u0000${unit}`;
}

export function emptyFigures(): VariantFigures {
  return {
    requests: 0,
    impressions: 0,
    clicks: 0,
    engaged_ms: 0,
    fallbacks: 0,
    errors: 0,
    overlaps: 0,
    overlap_sum: 0,
    latency: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
    users: 0,
    user_clicks_sq: 0,
    user_impressions_sq: 0,
    user_clicks_impressions: 0,
  };
}

/**
 * Adds a user's new clicks and impressions to the per-user sums; `before`
 * is what the user had in these figures, undefined for a user new to them.
 */
export function addUserCounts(
  figures: VariantFigures,
  before: { readonly clicks: number; readonly impressions: number } | undefined,
  clicks: number,
  impressions: number,
): void {
  const x0 = before?.clicks ?? 0;
  const n0 = before?.impressions ?? 0;
  const x1 = x0 + clicks;
  const n1 = n0 + impressions;
  // Figures stored before these sums existed read as zeros from here on.
  if (before === undefined) figures.users = (figures.users ?? 0) + 1;
  figures.user_clicks_sq = (figures.user_clicks_sq ?? 0) + x1 * x1 - x0 * x0;
  figures.user_impressions_sq = (figures.user_impressions_sq ?? 0) + n1 * n1 - n0 * n0;
  figures.user_clicks_impressions = (figures.user_clicks_impressions ?? 0) + x1 * n1 - x0 * n0;
}

/** Clicks of impressions, with the per-user sums when the figures hold them. */
export function clickThrough(figures: VariantFigures): Proportion {
  const p = { successes: figures.clicks, trials: figures.impressions };
  if (!(figures.users > 0)) return p;
  return {
    ...p,
    units: {
      count: figures.users,
      successesSq: figures.user_clicks_sq,
      trialsSq: figures.user_impressions_sq,
      cross: figures.user_clicks_impressions,
    },
  };
}

/** The bucket of a latency: the first whose upper bound is at or above it. */
export function latencyBucket(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (LATENCY_BOUNDS_MS[mid]! >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function addOutcome(figures: VariantFigures, outcome: ExperimentOutcome): void {
  figures.requests += outcome.requests;
  figures.impressions += outcome.impressions;
  figures.clicks += outcome.clicks;
  figures.engaged_ms += outcome.engaged_ms;
  figures.fallbacks += outcome.fallbacks;
  // Figures stored before errors were counted read as none until then.
  figures.errors = (figures.errors ?? 0) + outcome.errors;
  if (outcome.overlap !== null) {
    figures.overlaps += 1;
    figures.overlap_sum += outcome.overlap;
  }
  if (outcome.took_ms !== null) figures.latency[latencyBucket(outcome.took_ms)]! += 1;
}

/** Requests with a measured latency. */
export function latencyCount(figures: VariantFigures): number {
  let n = 0;
  for (const c of figures.latency) n += c;
  return n;
}

/**
 * The upper bound (ms) of the bucket holding quantile `q`; null without
 * measured requests, Infinity when it falls in the open-ended bucket.
 */
export function latencyQuantile(figures: VariantFigures, q: number): number | null {
  const n = latencyCount(figures);
  if (n === 0) return null;
  const rank = Math.ceil(q * n);
  let seen = 0;
  for (let i = 0; i < figures.latency.length; i++) {
    seen += figures.latency[i]!;
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}

/** Measured requests slower than `ms` (in buckets wholly above the bucket of `ms`). */
export function slowerThan(figures: VariantFigures, ms: number): number {
  let n = 0;
  for (let i = latencyBucket(ms) + 1; i < figures.latency.length; i++) n += figures.latency[i]!;
  return n;
}
