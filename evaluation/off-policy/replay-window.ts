/**
 * The served lists of a time window replayed through one or more model
 * versions, each list's decisions seen from each version:
 *
 * 1. The window's served lists and their clicks (`evaluation/online/served-lists.ts`,
 *    the attribution `eval --online` uses).
 * 2. Each list's user features as of its request, from `rec.training-examples`
 *    (./as-of-features.ts); a list without them is skipped.
 * 3. Each version's deterministic page for each request, k the logged
 *    list's length, from the serving code itself: a `RecommendationService`
 *    with every version's pair loaded serves the request again over the
 *    live path's stages (`ReplayScorer`: that version, those features, the
 *    ranker's item features as of the request (./item-history.ts: at the
 *    item views' frontiers the list logged, or for a list that logged none
 *    the feature lateness before it), the list's time and context, no
 *    experiment, no exploration).
 * 4. Each (list, position) as one decision (./replay-decisions.ts). A
 *    Plackett–Luce list that logged its pool is read position by position,
 *    each drawn item at its marginal probability there
 *    (./placement-marginals.ts, seeded by the request id).
 *
 * Every version's decisions come in the same order, list by list, so the
 * i-th decision of two versions is the same logged action: what a paired
 * comparison needs (./estimators.ts, `compareOffPolicy`).
 *
 * A version's ranker click probabilities feed DR's reward model only when
 * its holdout says they predict clicks on impressions at least as well as
 * the smoothed-CTR baseline (`ranker_logloss` ≤ `ctr_baseline_logloss`).
 * The reward model is then a choice model over them (./choice-model.ts),
 * fitted to the window's clicks once every list is replayed: a position's
 * click probability given the whole list and how often the session already
 * showed its item, read for the logged list and for the version's page
 * (./session-shows.ts).
 *
 * @example
 * ```ts
 * const window = await replayWindow(platform, { online, store, from: 0, to: Date.now() }, ['recstream@2']);
 * window.policies.get('recstream@2')!.decisions.flat();
 * ```
 */

import { itemPartition } from '../../features/views/item-frontier.js';
import type { ArtifactStore } from '../../registry/model-store.js';
import { requestRandom } from '../../responders/recommend/request-random.js';
import { RecommendationService } from '../../responders/recommend/service.js';
import { ConfigError } from '../../runtime/errors.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Platform } from '../../runtime/platform.js';
import type { ItemFeatures, ModelVersion } from '../../schemas/generated/types.js';
import { type LoggedList, readServedLists, type ServedWindow } from '../online/served-lists.js';
import { featuresAtRequests } from './as-of-features.js';
import { type ChoiceList, ChoiceModel, type ChoiceParameters } from './choice-model.js';
import type { LoggedDecision } from './estimators.js';
import { ItemHistory } from './item-history.js';
import { type PlacementMarginals, placementMarginals } from './placement-marginals.js';
import { listDecisions, type ReplayedList } from './replay-decisions.js';
import { loggedPage, sessionShows } from './session-shows.js';

export interface ReplayOptions extends ServedWindow {
  readonly online: OnlineStore;
  readonly store: ArtifactStore;
  /** Replays under way at once; default 8. */
  readonly concurrency?: number;
}

/** Whether a version's click probabilities serve as DR's reward model, and why not. */
export type RewardModelUse = { readonly usable: true } | { readonly usable: false; readonly reason: string };

/** One version's view of the replayed window. */
export interface PolicyReplay {
  readonly model: ModelVersion;
  readonly rewardModel: RewardModelUse;
  /** Its decisions, one array per evaluated list, in the order of `ReplayedWindow.evaluated`. */
  readonly decisions: readonly (readonly LoggedDecision[])[];
  /** Evaluated lists it served with its model's click probabilities. */
  readonly scored: number;
  /** Logged items exploration did not place that its page has at their position. */
  readonly matchingUnexplored: number;
  /** The choice model DR's reward model was read from (./choice-model.ts); absent without one. */
  readonly choiceModel?: ChoiceParameters;
}

interface Replaying {
  model: ModelVersion;
  rewardModel: RewardModelUse;
  decisions: LoggedDecision[][];
  /** Its page for each evaluated list. */
  pages: string[][];
  /** Its ranker's click probabilities for each evaluated list; undefined without a reward model. */
  clicks: (ReadonlyMap<string, number> | undefined)[];
  scored: number;
  matchingUnexplored: number;
  choiceModel?: ChoiceParameters;
}

export interface ReplayedWindow {
  /** Served lists in the window (shadow lists left out). */
  readonly lists: number;
  /** The lists replayed: those with the user's features as of the request. */
  readonly evaluated: readonly LoggedList[];
  /** Evaluated lists read position by position from the Plackett–Luce pool they logged. */
  readonly byPosition: number;
  /** Each version's replay, by its label. */
  readonly policies: ReadonlyMap<string, PolicyReplay>;
}

/** Replays the window through every version in `labels` (`<model>@<version>`); their pairs are loaded for it and freed after. */
export async function replayWindow(
  platform: Platform,
  options: ReplayOptions,
  labels: readonly string[],
): Promise<ReplayedWindow> {
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
    models: [...labels],
  });
  try {
    const evaluated = [...lists.values()].filter((list) => asOf.has(list.served.request_id));
    const replays = new Map<string, Replaying>();
    for (const label of labels) {
      const model = await loaded(service, label);
      replays.set(label, {
        model,
        rewardModel: calibration(model),
        decisions: evaluated.map(() => []),
        pages: evaluated.map(() => []),
        clicks: evaluated.map(() => undefined),
        scored: 0,
        matchingUnexplored: 0,
      });
    }
    const marginals = evaluated.map((list) => marginalsOf(list.served));
    const byPosition = marginals.filter((m) => m !== undefined).length;
    let next = 0;
    const worker = async () => {
      for (let at = next++; at < evaluated.length; at = next++) {
        const list = evaluated[at]!;
        const { served } = list;
        for (const [label, replay] of replays) {
          const usable = replay.rewardModel.usable;
          const result = await service.replays.score({
            userId: served.user_id,
            k: Math.max(served.items.length, 1),
            now: served.served_ts,
            requestId: served.request_id,
            context: { ...list.context, surface: served.surface, request_id: served.request_id },
            model: label,
            features: asOf.get(served.request_id)!,
            score: usable ? served.items.map((item) => item.item_id) : undefined,
            items: itemsAsOf(items, served, lateness),
          });
          const page = result.items.map((item) => item.item_id).slice(0, served.items.length);
          for (const item of served.items)
            if (item.reason !== 'explored' && page[item.position] === item.item_id)
              replay.matchingUnexplored++;
          if (usable && result.click !== undefined) replay.scored++;
          replay.pages[at] = page;
          replay.clicks[at] = usable ? result.click : undefined;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
    const loggedShows = sessionShows(lists.values());
    for (const replay of replays.values()) {
      const choice = choiceModelOf(lists.values(), evaluated, replay, loggedShows);
      replay.choiceModel = choice?.model.parameters;
      evaluated.forEach((list, at) => {
        replay.decisions[at] = listDecisions({
          logged: list.served.items,
          clicked: list.clicked,
          candidate: replay.pages[at]!,
          click: replay.clicks[at],
          choice: choice?.of(at),
          exploration: list.served.exploration ?? null,
          marginals: marginals[at],
        });
      });
    }
    return { lists: lists.size, evaluated, byPosition, policies: replays };
  } finally {
    await service.close();
  }
}

/**
 * The choice model of a version's replay, fitted to the evaluated lists its
 * ranker scored (the logged items, their session shows and clicks), and each
 * list's click probabilities under it: of the logged list as shown, and of
 * the version's page with the shows its own pages would have had (the
 * window's other lists as logged). Undefined when no list can be fitted
 * (no reward model).
 */
function choiceModelOf(
  window: Iterable<LoggedList>,
  evaluated: readonly LoggedList[],
  replay: Replaying,
  loggedShows: ReadonlyMap<string, number[]>,
): { model: ChoiceModel; of: (at: number) => ReplayedList['choice'] } | undefined {
  const probabilitiesOf = (click: ReadonlyMap<string, number> | undefined, page: readonly string[]) => {
    const out = page.map((item) => click?.get(item));
    return out.every((p) => p !== undefined) ? (out as number[]) : undefined;
  };
  const loggedItems = evaluated.map(loggedPage);
  const logged = loggedItems.map((items, at) => probabilitiesOf(replay.clicks[at], items));
  const fitted: ChoiceList[] = [];
  evaluated.forEach((list, at) => {
    const probabilities = logged[at];
    if (probabilities === undefined || probabilities.length === 0) return;
    const clicks = loggedItems[at]!.flatMap((item, k) => (list.clicked.has(item) ? [k] : []));
    fitted.push({ probabilities, shown: loggedShows.get(list.served.request_id)!, clicks });
  });
  if (fitted.length === 0) return undefined;
  const model = ChoiceModel.fit(fitted);
  const pageAt = new Map(evaluated.map((list, at) => [list.served.request_id, replay.pages[at]!] as const));
  const ownShows = sessionShows(window, (list) => pageAt.get(list.served.request_id));
  return {
    model,
    of: (at) => {
      const list = evaluated[at]!;
      const loggedProbabilities = logged[at];
      const pageProbabilities = probabilitiesOf(replay.clicks[at], replay.pages[at]!);
      if (loggedProbabilities === undefined || pageProbabilities === undefined) return undefined;
      return {
        logged: model.clickProbabilities(loggedProbabilities, loggedShows.get(list.served.request_id)!),
        candidate: model.clickProbabilities(pageProbabilities, ownShows.get(list.served.request_id)!),
      };
    },
  };
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

/** Waits for a version's pair; its model version, or a ConfigError saying why it cannot load. */
async function loaded(service: RecommendationService, label: string): Promise<ModelVersion> {
  for (;;) {
    await service.bundles.settled();
    const bundle = service.bundles.acquireVersion(label);
    if (bundle !== undefined) {
      bundle.release();
      return bundle.model;
    }
    const status = service.bundles.status().variants?.[label] ?? 'loading';
    if (status !== 'loading' && status !== 'promoted')
      throw new ConfigError(`${label} cannot be served: ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a version's ranker gives click probabilities fit to be DR's reward model. */
function calibration(model: ModelVersion): RewardModelUse {
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
