/**
 * The stages of serving one page, shared by the live path (./recommender.ts)
 * and the replay of a logged request for off-policy evaluation
 * (./replay-scorer.ts), so that a replayed page is the one the live code
 * serves with the same inputs:
 *
 * - `prepare`: the user's profile (opt-out, age bucket, country) from `rec.users`; an opted-out
 *   user gets the global popularity list (`optedOut`, `opt_out`);
 * - `page`: a user with no history gets their country's popularity (`cold_start`); no pair
 *   loaded, the global list (`no_model`); else the personalised page, or popularity with
 *   `model_error` when that path fails (an ONNX session that cannot run) rather than an error:
 *   1. the user's embedding from the exported user tower;
 *   2. ANN retrieval of `candidates` items, oversampled past the filters: already seen,
 *      unavailable, and `mature` items for users in the 13-17 bucket;
 *   3. the ranker over every candidate in one batched call, its items' rows from the path's
 *      `RowSource` (whose frontiers go with the list); its log click probability is added to the
 *      retrieval score with `rankerWeight`, and only when the model's holdout said the ranker
 *      beats the CTR baseline; with `coVisitation`, its candidates fused in by rank
 *      (./co-visitation.ts);
 *   4. diversification: at most `maxCategoryShare` of a page share their first category (the
 *      rest move down the list, not out of it);
 *   5. the final ordering (./final-ordering.ts: freshness boost, promoted slots, exploration
 *      seeded by the request id) and the top `k`, each item with its `reason` and the
 *      `propensity` with which it was placed;
 * - `popular`: a popularity list, the fallbacks' and the popularity variant's.
 *
 * What differs between the paths comes in as arguments: the plan (experiment, ordering settings,
 * whether the serving metrics count the request), the pair, the user's features and where the
 * ranker's item rows come from.
 *
 * @example
 * ```ts
 * const stages = new ServingStages({ bundles, online, profiles, catalog, popularity, metrics });
 * const { profile, plan } = stages.prepare({ userId: 'u0', k: 10 }, Date.now(), true);
 * if (profile?.opt_out) return stages.optedOut(plan);
 * const { result } = await stages.page(plan, bundle, true, () => features, () => stages.ranker.live());
 * ```
 */

import { type UserQuery, type UserTowerBatch, userTowerInputs } from '../../features/model-inputs.js';
import type { Assignment } from '../../registry/experiments/assignment.js';
import { spanEvent } from '../../runtime/observability/tracing.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type {
  InteractionContext,
  Item,
  Promotion,
  User,
  UserFeatures,
} from '../../schemas/generated/types.js';
import type { BundleManager } from './bundle-manager.js';
import { ADULT_ONLY, diversify, MINOR_BUCKET, popularItems } from './candidate-lists.js';
import type { CoVisitationSource } from './co-visitation.js';
import { DEFAULT_ORDERING, finalOrder, type OrderingSettings, type RankedItem } from './final-ordering.js';
import type { ItemRow } from './item-rows.js';
import type { LiveTable } from './live-table.js';
import type { PopularityLists } from './popularity.js';
import { RankerRows, type RowSource } from './ranker-rows.js';
import type { FallbackReason, PageRequest, Plan, RecommendResult } from './recommend-request.js';
import type { ServeMetrics } from './serve-metrics.js';
import type { ServingBundle } from './serving-bundle.js';
import { bounded, StoreTimeout } from './store-timeout.js';

export interface ServingOptions {
  readonly bundles: BundleManager;
  readonly online: OnlineStore;
  readonly profiles: LiveTable<User>;
  readonly catalog: LiveTable<Item>;
  readonly popularity: PopularityLists;
  readonly metrics: ServeMetrics;
  /** The running experiments; none when undefined. */
  readonly experiments?: { assign(userId: string): Assignment | undefined };
  /** The active promoted slots; none when undefined. */
  readonly promotions?: { active(now: number): readonly Promotion[] };
  /**
   * Final ordering and diversity defaults (a variant's `ordering` overrides
   * them); default no boost, promotions on, share 0.5, no exploration (a
   * fresh item twice as likely to be drawn once it is on).
   */
  readonly ordering?: Partial<OrderingSettings>;
  /** How long a candidate's ranker item features are reused, in request time; default 1000 ms. */
  readonly itemFeaturesTtlMs?: number;
  /** Partitions of the item views (item-features tasks): their frontiers are read and logged; none when undefined. */
  readonly itemPartitions?: number;
  /** Longest wait for an online-store read; default 50 ms. */
  readonly storeTimeoutMs?: number;
  /** Items retrieved for the ranker; default 100. */
  readonly candidates?: number;
  /** Weight of the ranker's log click probability next to the retrieval score; default 1. */
  readonly rankerWeight?: number;
  /** Co-visitation candidates merged with the ANN ones (./co-visitation.ts); none when undefined. */
  readonly coVisitation?: CoVisitationSource;
  /** Told of a failure of the personalised path (the request is served popularity, `model_error`). */
  readonly onError?: (error: unknown) => void;
}

/** A page, and on the personalised path what its ranker was asked with, for a caller that scores more items. */
export interface Page {
  readonly result: RecommendResult;
  readonly ranker?: {
    readonly bundle: ServingBundle;
    readonly query: UserQuery;
    readonly user: UserTowerBatch;
  };
}

// biome-ignore format: one line
const NO_CONTEXT: InteractionContext = { device: null, country: null, session_id: null, surface: null, request_id: null };
const EMPTY: ReadonlySet<string> = new Set();
/** Keys asked of the index beyond those the filters are known to drop. */
const SEARCH_SLACK = 8;
/** Popularity items listed past k, for the final ordering to move and fill. */
const POPULAR_SLACK = 8;
/** The `experiment` and `variant` label outside every experiment. */
const NONE = 'none';

export class ServingStages {
  /** The final ordering and diversity settings outside every variant. */
  readonly defaults: OrderingSettings;
  /** The ranker's item rows: one cache for every request served through these stages. */
  readonly ranker: RankerRows;
  private readonly timeoutMs: number;

  constructor(readonly options: ServingOptions) {
    this.timeoutMs = options.storeTimeoutMs ?? 50;
    this.defaults = { ...DEFAULT_ORDERING, ...options.ordering };
    const { online, catalog, itemFeaturesTtlMs, itemPartitions } = options;
    this.ranker = RankerRows.fromStore(online, catalog, itemFeaturesTtlMs, itemPartitions);
  }

  /**
   * The user's profile, and the plan before a pair is chosen: their country
   * (the context's, else the profile's), whether they are a minor, the
   * default settings, in no experiment.
   */
  prepare(request: PageRequest, now: number, counted: boolean): { profile: User | undefined; plan: Plan } {
    const profile = this.options.profiles.get(request.userId);
    const country = request.context?.country ?? profile?.country ?? null;
    const minor = profile?.age_bucket === MINOR_BUCKET;
    const plan = { request, assignment: undefined, settings: this.defaults, country, minor, now, counted };
    return { profile, plan };
  }

  /** An opted-out user's list: in no experiment, and their features are purged, so nothing is known as seen. */
  optedOut(plan: Plan): RecommendResult {
    return this.popular(plan, 'opt_out', EMPTY);
  }

  /**
   * The page of a user with `history` and a pair: the personalised one, or
   * popularity when it fails; else the fallback. `features` reads the
   * user's features, once both are there; `rows` opens the ranker's item
   * reads, as the tower starts and only when the ranker serves.
   */
  async page(
    plan: Plan,
    bundle: ServingBundle | undefined,
    history: boolean,
    features: () => UserFeatures,
    rows: () => RowSource,
  ): Promise<Page> {
    if (!history) return { result: this.popular(plan, 'cold_start', EMPTY) };
    if (bundle === undefined) return { result: this.popular(plan, 'no_model', undefined) };
    const { request, country, now } = plan;
    const query: UserQuery = {
      userId: request.userId,
      features: features(),
      context: { ...NO_CONTEXT, ...request.context, country },
      ts: now,
    };
    try {
      return await this.personalised(bundle, query, plan, rows);
    } catch (error) {
      this.options.onError?.(error);
      return { result: this.popular(plan, 'model_error', undefined) };
    }
  }

  /** Times a stage: in the serving metrics when the request counts, and on its trace. */
  observe(plan: Plan, stage: string, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    if (plan.counted) this.options.metrics.stage.observe({ stage }, seconds);
    spanEvent(stage, { seconds });
  }

  private async personalised(
    bundle: ServingBundle,
    query: UserQuery,
    plan: Plan,
    rows: () => RowSource,
  ): Promise<Page> {
    const { catalog, coVisitation, metrics } = this.options;
    const { request, minor } = plan;
    const { features } = query;
    // Read beside the tower and the search; a failed or slow read serves the ANN candidates alone.
    const coVisits =
      coVisitation &&
      this.bounded(coVisitation.read(features.recent_items)).catch((error) => {
        const kind = error instanceof StoreTimeout ? 'timeout' : 'error';
        if (plan.counted) metrics.onlineStoreErrors.inc({ kind });
        return [];
      });
    // Also beside them: a live source's read of the frontiers its item rows are read at.
    const source = bundle.rankerTrusted && request.rank !== false ? rows() : undefined;
    const towerStarted = performance.now();
    const user = userTowerInputs([query], bundle.vocab);
    const embedding = await bundle.models.userTower.embed(user);
    this.observe(plan, 'user_tower', towerStarted);

    const retrievalStarted = performance.now();
    const seen = new Set(features.recent_items.map((r) => r.item_id));
    const extra = request.exclude ?? EMPTY;
    const wanted = Math.max(this.options.candidates ?? 100, request.k);
    // Past `wanted` by as many keys as the filters can drop: the seen and excluded items, a few made
    // unavailable since the index was built, and for a minor any share of mature items.
    const margin = seen.size + extra.size + SEARCH_SLACK + (minor ? wanted : 0);
    const rejected = (itemId: string) => {
      if (seen.has(itemId) || extra.has(itemId)) return true;
      const item = catalog.get(itemId);
      return item === undefined || !item.available || (minor && item.maturity === ADULT_ONLY);
    };
    const exclude = (key: number) => {
      const itemId = bundle.itemAt(key);
      return itemId === undefined || rejected(itemId);
    };
    // Taken as the search is asked: a delta is labelled once its changes are asked of the index
    // thread, and one applied while the ranker runs must not relabel these results.
    const indexVersion = bundle.indexLabel;
    const found = await bundle.ann.search(
      embedding.subarray(0, bundle.ann.config.dimensions),
      wanted,
      exclude,
      margin,
    );
    const ids = found.keys.map((key) => bundle.itemAt(key)!);
    const scores = found.scores.slice();
    this.observe(plan, 'retrieval', retrievalStarted);

    const frontiers =
      source && ids.length > 0 ? await this.rank(bundle, query, user, ids, scores, plan, source) : null;
    const order = ids.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
    const list = coVisits
      ? coVisitation!.merge(
          { ids, scores, order },
          coVisitation!.neighbours(await coVisits, plan.now, rejected),
        )
      : { ids, scores, order };
    const ranked = diversify(list.order, list.ids, list.scores, {
      k: request.k,
      share: plan.settings.maxCategoryShare,
      catalog,
    });
    const result = this.finish(plan, ranked, seen, {
      model_version: bundle.modelLabel,
      index_version: indexVersion,
      fallback: null,
      item_frontiers: frontiers,
    });
    return { result, ranker: { bundle, query, user } };
  }

  /** The final ordering, and the experiment the list was served in. */
  private finish(
    plan: Plan,
    items: RankedItem[],
    seen: ReadonlySet<string> | undefined,
    served: Pick<RecommendResult, 'model_version' | 'index_version' | 'fallback' | 'item_frontiers'>,
  ): RecommendResult {
    const promotions = plan.settings.promotions ? this.options.promotions?.active(plan.now) : undefined;
    const page = finalOrder({
      items,
      k: plan.request.k,
      now: plan.now,
      settings: plan.settings,
      catalog: this.options.catalog,
      promotions,
      seen,
      exclude: plan.request.exclude,
      minor: plan.minor,
      seed: plan.request.requestId ?? `${plan.request.userId}@${plan.now}`,
    });
    return {
      items: page.items,
      ...served,
      exploration: page.exploration,
      exploration_pool: page.pool,
      experiment_id: plan.assignment?.experiment.id ?? null,
      variant: plan.assignment?.variant.name ?? null,
    };
  }

  /** Adds the ranker's weighted log click probability to each score, in place; returns the frontiers its rows were read at. */
  private async rank(
    bundle: ServingBundle,
    query: UserQuery,
    user: UserTowerBatch,
    ids: string[],
    scores: number[],
    plan: Plan,
    source: RowSource,
  ): Promise<number[] | null> {
    const { metrics } = this.options;
    const started = performance.now();
    let rows: ItemRow[];
    let frontiers: number[] | null;
    try {
      ({ rows, frontiers } = await this.bounded(source(ids, query.ts)));
    } catch (error) {
      // Retrieval order is still personalised: serve it rather than nothing.
      if (plan.counted)
        metrics.onlineStoreErrors.inc({ kind: error instanceof StoreTimeout ? 'timeout' : 'error' });
      return null;
    }
    const click = await this.ranker.click(bundle, query, user, ids, rows);
    const weight = this.options.rankerWeight ?? 1;
    for (let i = 0; i < ids.length; i++) scores[i]! += weight * Math.log(Math.max(click[i]!, 1e-6));
    this.observe(plan, 'ranker', started);
    return frontiers;
  }

  /**
   * A popularity list: the global one for an opted-out user, else the
   * country's, without what the user has seen or the caller excluded, and
   * without `mature` items for a minor. `fallback` null is the popularity
   * variant's own list, not a degradation.
   */
  popular(plan: Plan, reason: FallbackReason | null, seen: ReadonlySet<string> | undefined): RecommendResult {
    const { request, assignment } = plan;
    if (reason !== null && plan.counted) {
      this.options.metrics.fallbacks.inc({ reason });
      this.options.metrics.variantFallbacks.inc({
        experiment: assignment?.experiment.id ?? NONE,
        variant: assignment?.variant.name ?? NONE,
        reason,
      });
    }
    if (reason !== null) spanEvent('fallback', { reason });
    const items = popularItems(this.options.popularity.top(reason === 'opt_out' ? null : plan.country), {
      // Past k by the promotions' worth, so that a list with a slot placed is still k long.
      count: request.k + POPULAR_SLACK,
      catalog: this.options.catalog,
      minor: plan.minor,
      seen,
      exclude: request.exclude,
    });
    const served = { model_version: null, index_version: null, fallback: reason, item_frontiers: null };
    return this.finish(plan, items, seen, served);
  }

  /** `read`, or a `StoreTimeout` once it took longer than an online-store read may. */
  bounded<T>(read: Promise<T>): Promise<T> {
    return bounded(read, this.timeoutMs);
  }
}
