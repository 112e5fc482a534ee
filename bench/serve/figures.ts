/** Rounding and summing for the `serve` suite's figures, so every file reports them alike. */

/** One decimal: load averages. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Four significant digits: latencies, shares and ratios. */
export function round3(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(4)) : x;
}

export function sum<T>(list: readonly T[], pick: (x: T) => number): number {
  return list.reduce((total, x) => total + pick(x), 0);
}
