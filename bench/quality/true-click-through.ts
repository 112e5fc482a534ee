/**
 * The true click-through of a closed-loop run's served lists — expected
 * clicks per impression, from its truth log — with a 95 % interval for
 * which lists happened to be served: a ratio of sums over lists, its
 * variance by the delta method. Two runs of the same world differ by that
 * much when what each served is equally good.
 */
import type { ServedTruth } from '../../sim/closed-loop/truth-log.js';

export interface TrueClickThrough {
  readonly value: number;
  readonly ci95: [number, number];
  readonly lists: number;
  readonly impressions: number;
}

/** @throws Error when no list holds an item */
export function trueClickThrough(lists: Iterable<ServedTruth>): TrueClickThrough {
  const shown: number[] = [];
  const expected: number[] = [];
  for (const line of lists) {
    if (line.items.length === 0) continue;
    shown.push(line.items.length);
    expected.push(line.expected_clicks);
  }
  const n = shown.length;
  const impressions = shown.reduce((sum, x) => sum + x, 0);
  if (impressions === 0) throw new Error('no served list held an item');
  const value = expected.reduce((sum, x) => sum + x, 0) / impressions;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (expected[i]! - value * shown[i]!) ** 2;
  const half = n < 2 ? Number.POSITIVE_INFINITY : (1.96 * Math.sqrt((n / (n - 1)) * squares)) / impressions;
  return { value, ci95: [value - half, value + half], lists: n, impressions };
}
