/**
 * Exponentially decayed counts, the time-weighted counters of the feature
 * views. A counter as of time `t` is the sum over its events `i` with
 * `ts_i <= t` of `w_i * 2^(-(t - ts_i) / h)`: an event one half-life old
 * counts 0.5. The math is order-independent, which is what makes the views
 * exact under out-of-order events:
 *
 * - a view keeps its counters as of one reference time `ref` (its latest
 *   folded event); folding an event at `ts >= ref` first rescales every
 *   counter to `ts` (`* 2^(-(ts - ref) / h)`), then adds `w`;
 * - an event older than `ref` (a late one) adds `w * 2^(-(ref - ts) / h)`
 *   without moving `ref`;
 * - reading as of `t >= ref` rescales by `2^(-(t - ref) / h)`.
 *
 * Any arrival order gives the same value up to floating-point rounding
 * (relative 1e-15); the processors also fold in event-time order within
 * the allowed lateness, so a replay gives the same bits.
 *
 * @example
 * ```ts
 * const counts = [0, 0, 0];
 * fold(counts, factorsBetween(ref, ts, scratch), 1); // one event at ts
 * asOf(counts, factorsBetween(ts, ts + HOUR_MS, scratch)); // [0.5, ~0.97, ~0.996]
 * ```
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** The three half-lives of `DecayedCounts`: hl_1h, hl_1d, hl_7d. */
export const HALF_LIVES_MS: readonly number[] = [HOUR_MS, DAY_MS, 7 * DAY_MS];

/** `2^(-dt / h)`: the weight left after `dt` milliseconds with half-life `h`. */
export function decayFactor(dt: number, halfLifeMs: number): number {
  return dt === 0 ? 1 : 2 ** (-dt / halfLifeMs);
}

/**
 * The factors `2^(-(to - from) / h)` for the three half-lives, written into
 * `out` (reused by callers so that the hot path allocates nothing).
 */
export function factorsBetween(from: number, to: number, out: Float64Array): Float64Array {
  const dt = to - from;
  out[0] = decayFactor(dt, HALF_LIVES_MS[0]!);
  out[1] = decayFactor(dt, HALF_LIVES_MS[1]!);
  out[2] = decayFactor(dt, HALF_LIVES_MS[2]!);
  return out;
}

/** Multiplies the triple at `offset` of `values` by `factors`, in place. */
export function rescale(values: number[], offset: number, factors: Float64Array): void {
  values[offset] = values[offset]! * factors[0]!;
  values[offset + 1] = values[offset + 1]! * factors[1]!;
  values[offset + 2] = values[offset + 2]! * factors[2]!;
}

/** Adds `weight * factors[k]` to the triple at `offset` (factors are 1 for an event at the reference time). */
export function addScaled(values: number[], offset: number, weight: number, factors: Float64Array): void {
  values[offset] = values[offset]! + weight * factors[0]!;
  values[offset + 1] = values[offset + 1]! + weight * factors[1]!;
  values[offset + 2] = values[offset + 2]! + weight * factors[2]!;
}

/** Factors of 1: for adding an event at the reference time. */
export const UNIT_FACTORS: Float64Array = Float64Array.of(1, 1, 1);
