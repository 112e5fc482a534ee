/**
 * `recstream eval --off-policy --candidate <model>@<version>`: a model
 * version's click-through per impression estimated from the served-list
 * log before it serves anyone.
 *
 * 1. The window's served lists and their clicks (`evaluation/online/served-lists.ts`,
 *    the attribution `eval --online` uses).
 * 2. Each list's user features as of its request, from `rec.training-examples`
 *    (./as-of-features.ts); a list without them is skipped and counted.
 * 3. The candidate's deterministic page for each request, k the logged
 *    list's length, from the serving code itself: a `RecommendationService`
 *    with the candidate's pair loaded answers a replay request
 *    (`RecommendRequest.replay`: that version, those features, the ranker's
 *    item features as of the request (./item-history.ts: at the item views'
 *    frontiers the list logged, or for a list that logged none the feature
 *    lateness before it), the list's time and context, no experiment, no
 *    exploration).
 * 4. Each (list, position) as one decision (./replay-decisions.ts) and the
 *    IPS, SNIPS and DR estimates (./estimators.ts) with their 95 %
 *    intervals and effective sample size — or, where the log cannot
 *    support the candidate, the reason instead of a number.
 *
 * DR's reward model is the candidate's ranker click probability, used only
 * when the version's holdout says those probabilities predict clicks on
 * impressions at least as well as the smoothed-CTR baseline (`ranker_logloss`
 * ≤ `ctr_baseline_logloss`); otherwise DR is absent, with the reason. A
 * list the candidate served without its model (no history as of the
 * request) has no click probabilities: DR takes its decisions' IPS terms
 * and counts the list (`lists_without_reward_model`).
 *
 * A Plackett–Luce list that logged its pool is read position by position,
 * each drawn item at its marginal probability there (./placement-marginals.ts,
 * seeded by the request id), not as prefixes (./replay-decisions.ts).
 *
 * Beside the estimate: the logging policy's own observed click-through on
 * the same decisions (the reference), and on the slots it did not explore.
 *
 * @example
 * ```ts
 * const report = await offPolicyReport(platform, { online, store, candidate: 'recstream@2', from: 0, to: Date.now() });
 * report.supported ? report.snips : report.reason;
 * ```
 */

import { itemPartition } from '../../features/views/item-frontier.js';
import { wilsonInterval } from '../../processors/experiment-metrics/sequential-test.js';
import type { ArtifactStore } from '../../registry/model-store.js';
import { requestRandom } from '../../responders/recommend/request-random.js';
import { RecommendationService } from '../../responders/recommend/service.js';
import { ConfigError } from '../../runtime/errors.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Platform } from '../../runtime/platform.js';
import type { ItemFeatures, ModelVersion } from '../../schemas/generated/types.js';
import { type LoggedList, readServedLists, type ServedWindow } from '../online/served-lists.js';
import { featuresAtRequests } from './as-of-features.js';
import { type Estimate, estimateOffPolicy, type LoggedDecision } from './estimators.js';
import { ItemHistory } from './item-history.js';
import { type PlacementMarginals, placementMarginals } from './placement-marginals.js';
import { listDecisions } from './replay-decisions.js';

export interface OffPolicyOptions extends ServedWindow {
  readonly online: OnlineStore;
  readonly store: ArtifactStore;
  /** The model version evaluated, `<model>@<version>`. */
  readonly candidate: string;
  /** Replays under way at once; default 8. */
  readonly concurrency?: number;
  /** Largest mean share of the candidate's slots the log may not support before no estimate is given; default 0.05. */
  readonly maxUnsupported?: number;
}

/** Observed click-through of a set of logged decisions. */
export interface ObservedCtr {
  readonly decisions: number;
  readonly clicks: number;
  readonly ctr: number;
  readonly ctr_ci: readonly [number, number];
}

export interface OffPolicyReport {
  readonly candidate: string;
  readonly from: number;
  readonly to: number;
  /** Served lists in the window (shadow lists left out). */
  readonly lists: number;
  /** Lists replayed through the candidate. */
  readonly evaluated_lists: number;
  /** Lists skipped because no training example holds the user's features as of the request. */
  readonly skipped_lists: number;
  /** (list, position) decisions of the evaluated lists. */
  readonly decisions: number;
  /** Decisions whose logged propensity is below 1 (the slot was explorable). */
  readonly explorable_decisions: number;
  /** Decisions where the candidate's page has the logged item at the logged position. */
  readonly matching_decisions: number;
  /** Of the logged items exploration did not place, those the candidate's page has at their position (a self-replay's fidelity). */
  readonly matching_unexplored_decisions: number;
  /** Evaluated lists whose item views were read as of the frontiers the list logged (the rest by the lateness). */
  readonly lists_at_frontiers: number;
  /** Whether the log supports an estimate of the candidate. */
  readonly supported: boolean;
  /** Mean share of the candidate's choices the log cannot support. */
  readonly unsupported_share: number;
  /** Why there is no estimate; null when there is one. */
  readonly reason: string | null;
  readonly effective_sample_size: number | null;
  readonly ips: Estimate | null;
  readonly snips: Estimate | null;
  readonly dr: Estimate | null;
  /** Why SNIPS is absent (too small an effective sample size); null when it is given or there is no estimate at all. */
  readonly snips_reason: string | null;
  /** Why DR is absent; null when it is given or there is no estimate at all. */
  readonly dr_reason: string | null;
  /** Evaluated lists without the candidate's click probabilities, whose decisions DR took as IPS terms. */
  readonly lists_without_reward_model: number;
  /** Evaluated lists read position by position from the Plackett–Luce pool they logged. */
  readonly lists_by_position: number;
  /** The logging policy's observed click-through on the same decisions. */
  readonly reference: ObservedCtr;
  /** The same on the decisions it did not explore (the slot kept its deterministic item). */
  readonly reference_unexplored: ObservedCtr;
}

/**
 * Smallest effective sample size at which SNIPS is given. Its denominator is
 * the sum of the weights, whose sample mean is far below its expectation 1
 * when a few heavy weights are missing: on the closed-loop test world, at
 * an effective sample size of 15, SNIPS read 0.40 [0.11, 0.69] for a true
 * 0.044 while IPS and DR held it. IPS and DR do not divide by it.
 */
const MIN_SNIPS_SAMPLE = 30;

/** Runs the evaluation; the candidate's pair is loaded for it and freed after. */
export async function offPolicyReport(
  platform: Platform,
  options: OffPolicyOptions,
): Promise<OffPolicyReport> {
  const candidate = candidateLabel(options.candidate);
  const lists = await readServedLists(platform.log, platform.serde, options);
  const keys = new Map([...lists].map(([id, list]) => [id, list.served] as const));
  const asOf = await featuresAtRequests(platform.log, platform.serde, keys);
  const lateness = platform.config.featureLatenessMs;
  let historyFrom = options.from - lateness;
  for (const { served } of lists.values())
    for (const frontier of served.item_frontiers ?? []) historyFrom = Math.min(historyFrom, frontier);
  const items = await ItemHistory.read(platform.log, platform.serde, historyFrom);
  const service = await RecommendationService.start({
    platform,
    online: options.online,
    store: options.store,
    models: [candidate],
  });
  try {
    const model = await loaded(service, candidate);
    const rewardModel = calibration(model);
    const decisions: LoggedDecision[] = [];
    const evaluated: LoggedList[] = [];
    let scored = 0;
    let byPosition = 0;
    let matchingUnexplored = 0;
    const pending = [...lists.values()].filter((list) => asOf.has(list.served.request_id));
    const worker = async () => {
      for (let list = pending.shift(); list !== undefined; list = pending.shift()) {
        const { served } = list;
        const result = await service.recommender.recommend({
          userId: served.user_id,
          k: Math.max(served.items.length, 1),
          now: served.served_ts,
          requestId: served.request_id,
          context: { ...list.context, surface: served.surface, request_id: served.request_id },
          replay: {
            model: candidate,
            features: asOf.get(served.request_id)!,
            score: rewardModel.usable ? served.items.map((item) => item.item_id) : undefined,
            items: itemsAsOf(items, served, lateness),
          },
        });
        const page = result.items.map((item) => item.item_id).slice(0, served.items.length);
        for (const item of served.items)
          if (item.reason !== 'explored' && page[item.position] === item.item_id) matchingUnexplored++;
        if (rewardModel.usable && result.click !== undefined) scored++;
        evaluated.push(list);
        const marginals = marginalsOf(served);
        if (marginals !== undefined) byPosition++;
        decisions.push(
          ...listDecisions({
            logged: served.items,
            clicked: list.clicked,
            candidate: page,
            click: rewardModel.usable ? result.click : undefined,
            exploration: served.exploration ?? null,
            marginals,
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
    const result = estimateOffPolicy(decisions, options.maxUnsupported);
    const snipsReason =
      result.supported && result.effectiveSampleSize < MIN_SNIPS_SAMPLE
        ? `effective sample size ${result.effectiveSampleSize.toFixed(1)} is below ${MIN_SNIPS_SAMPLE}: dividing by so few weights, the self-normalised estimate follows whichever clicks the log happens to hold; read IPS and DR, or log more lists with exploration`
        : null;
    const drReason = !result.supported
      ? null
      : !rewardModel.usable
        ? rewardModel.reason
        : result.dr === undefined
          ? `the candidate served every list without its model (no history as of the request), so its ranker gave no click probability`
          : null;
    return {
      candidate,
      from: options.from,
      to: options.to,
      lists: lists.size,
      evaluated_lists: evaluated.length,
      skipped_lists: lists.size - evaluated.length,
      decisions: decisions.length,
      explorable_decisions: decisions.filter((d) => d.propensity < 1).length,
      matching_decisions: decisions.filter((d) => d.target > 0).length,
      matching_unexplored_decisions: matchingUnexplored,
      lists_at_frontiers: evaluated.filter((list) => (list.served.item_frontiers?.length ?? 0) > 0).length,
      supported: result.supported,
      unsupported_share: result.unsupportedMass,
      reason: result.supported ? null : result.reason,
      effective_sample_size: result.supported ? result.effectiveSampleSize : null,
      ips: result.supported ? result.ips : null,
      snips: result.supported && snipsReason === null ? result.snips : null,
      snips_reason: snipsReason,
      dr: result.supported && drReason === null ? (result.dr ?? null) : null,
      dr_reason: drReason,
      lists_without_reward_model: rewardModel.usable ? evaluated.length - scored : evaluated.length,
      lists_by_position: byPosition,
      reference: observed(evaluated, () => true),
      reference_unexplored: observed(evaluated, (item) => item.reason !== 'explored'),
    };
  } finally {
    await service.close();
  }
}

/**
 * The marginals of a Plackett–Luce list that logged the pool its items were
 * drawn from; undefined for any other list (read as prefixes then).
 */
function marginalsOf(served: LoggedList['served']): PlacementMarginals | undefined {
  const pool = served.exploration_pool ?? null;
  if (served.exploration !== 'plackett_luce' || pool === null) return undefined;
  const drawn = served.items.filter((item) => item.reason !== 'promoted');
  const inPool = new Set(pool.map((item) => item.item_id));
  if (!drawn.every((item) => inPool.has(item.item_id))) return undefined;
  return placementMarginals(pool, drawn.length, { random: requestRandom(`${served.request_id}/marginals`) });
}

/**
 * The ranker's item features of a logged request: each item's as of the
 * frontier of its partition the list logged (its view then held every
 * interaction before it); a list written before lists logged frontiers
 * (or one that read none) is approximated by the feature lateness, how far
 * the views may trail the request.
 */
function itemsAsOf(
  items: ItemHistory,
  served: LoggedList['served'],
  lateness: number,
): (itemId: string) => ItemFeatures | undefined {
  const frontiers = served.item_frontiers ?? null;
  if (frontiers === null || frontiers.length === 0)
    return (itemId) => items.at(itemId, served.served_ts - lateness, served.served_ts);
  return (itemId) => items.at(itemId, frontiers[itemPartition(itemId, frontiers.length)]!, served.served_ts);
}

/**
 * The candidate's label, checked: `<model>@<version>`.
 *
 * @example
 * ```ts
 * candidateLabel('recstream@3'); // 'recstream@3'
 * ```
 * @throws ConfigError naming `--candidate` for anything else
 */
export function candidateLabel(raw: string): string {
  if (!/^.+@\d+$/.test(raw))
    throw new ConfigError(`--candidate ${raw}: expected <model>@<version>, e.g. recstream@3`);
  return raw;
}

/** Waits for the candidate's pair; its model version, or a ConfigError saying why it cannot load. */
async function loaded(service: RecommendationService, candidate: string): Promise<ModelVersion> {
  for (;;) {
    await service.bundles.settled();
    const bundle = service.bundles.acquireVersion(candidate);
    if (bundle !== undefined) {
      bundle.release();
      return bundle.model;
    }
    const status = service.bundles.status().variants?.[candidate] ?? 'loading';
    if (status !== 'loading' && status !== 'promoted')
      throw new ConfigError(`--candidate ${candidate} cannot be served: ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether the candidate's ranker gives click probabilities fit to be DR's reward model. */
function calibration(model: ModelVersion): { usable: true } | { usable: false; reason: string } {
  const ranker = model.metrics.ranker_logloss;
  const baseline = model.metrics.ctr_baseline_logloss;
  if (ranker === undefined || baseline === undefined)
    return {
      usable: false,
      reason: `${model.model}@${model.version} has no click log-loss on its holdout (no impressions to measure it on): its ranker is no calibrated reward model`,
    };
  if (ranker > baseline)
    return {
      usable: false,
      reason: `${model.model}@${model.version}'s ranker predicts held-out clicks worse than the smoothed-CTR baseline (log-loss ${ranker.toFixed(4)} against ${baseline.toFixed(4)}): no calibrated reward model`,
    };
  return { usable: true };
}

function observed(
  lists: readonly LoggedList[],
  include: (item: LoggedList['served']['items'][number]) => boolean,
): ObservedCtr {
  let decisions = 0;
  let clicks = 0;
  for (const { served, clicked } of lists)
    for (const item of served.items) {
      if (!include(item)) continue;
      decisions++;
      if (clicked.has(item.item_id)) clicks++;
    }
  return {
    decisions,
    clicks,
    ctr: decisions === 0 ? 0 : clicks / decisions,
    ctr_ci: wilsonInterval({ successes: clicks, trials: decisions }),
  };
}
