/**
 * A candidate model version against a baseline (the promoted one), both
 * estimated off-policy on the same served lists: each list is replayed
 * through both versions (./replay-window.ts) and the difference of their
 * click-through per impression is estimated from the paired decisions
 * (./estimators.ts, `compareOffPolicy`). What the two replays share — the
 * same clicks, and whatever the log's user model makes both estimates
 * over- or understate — cancels in the difference, which is what the
 * trainer's gate asks: is the candidate significantly worse than what
 * serves now?
 *
 * @example
 * ```ts
 * const c = await offPolicyComparison(platform, { online, store, candidate: 'recstream@3', baseline: 'recstream@2', from, to });
 * if (c.supported && c.difference.ci[1] < 0) console.log('recstream@3 is significantly worse');
 * ```
 */

import type { Platform } from '../../runtime/platform.js';
import { compareOffPolicy, type OffPolicyDifference } from './estimators.js';
import { type ReplayOptions, replayWindow } from './replay-window.js';

export interface OffPolicyComparisonOptions extends ReplayOptions {
  /** The version evaluated, `<model>@<version>`. */
  readonly candidate: string;
  /** The version it is compared with, `<model>@<version>`. */
  readonly baseline: string;
  /** Largest mean share of either version's slots the log may not support; default 0.05. */
  readonly maxUnsupported?: number;
}

export type OffPolicyComparison = OffPolicyDifference & {
  readonly candidateLabel: string;
  readonly baselineLabel: string;
  /** Served lists in the window, and those replayed (with features as of the request). */
  readonly lists: number;
  readonly evaluatedLists: number;
};

/** Replays the window through both versions and estimates the candidate's click-through minus the baseline's. */
export async function offPolicyComparison(
  platform: Platform,
  options: OffPolicyComparisonOptions,
): Promise<OffPolicyComparison> {
  const { candidate, baseline } = options;
  const window = await replayWindow(platform, options, [candidate, baseline]);
  const decisions = (label: string) => window.policies.get(label)!.decisions.flat();
  return {
    ...compareOffPolicy(decisions(candidate), decisions(baseline), options.maxUnsupported),
    candidateLabel: candidate,
    baselineLabel: baseline,
    lists: window.lists,
    evaluatedLists: window.evaluated.length,
  };
}
