/**
 * The serving pipeline of `GET /v1/recommendations/:userId`, also what `recstream eval` scores
 * holdout users with:
 *
 * 1. the user's profile (opt-out, age bucket, country) from `rec.users`; an opted-out user gets the
 *    global popularity list (`opt_out`);
 * 2. one online-store round trip for the user's view, bounded by `storeTimeoutMs` (a slow or failed
 *    store degrades to popularity, `online_store_timeout` / `online_store_unavailable`, instead of
 *    piling requests up); a user with no history gets their country's popularity (`cold_start`); no
 *    model loaded, the global list (`no_model`);
 * 3. the user's embedding from the exported user tower, so events from seconds ago count (the
 *    view's pending events folded in);
 * 4. ANN retrieval of `candidates` items, oversampled past the filters: already seen, unavailable,
 *    and `mature` items for users in the 13-17 bucket;
 * 5. the ranker over every candidate in one batched call, its items' features from a second round
 *    trip (each item's view cached for a second, and read again once the item views' frontier
 *    moved; the frontiers, read beside steps 3-4, go with the list); its log click probability is
 *    added to the retrieval score with `rankerWeight`, and only when the model's holdout said the
 *    ranker beats the CTR baseline; with `coVisitation`, its candidates fused in by rank
 *    (./co-visitation.ts);
 * 6. diversification: at most `maxCategoryShare` of a page share their first category (the rest
 *    move down the list, not out of it);
 * 7. the final ordering (./final-ordering.ts: freshness boost, promoted slots, exploration seeded
 *    by the request id) and the top `k`, each item with its `reason` and the `propensity` with
 *    which it was placed.
 *
 * Before step 2 the user (unless opted out) is assigned a running experiment's variant and served
 * its model: `promoted`, `popularity` (the country's list less what the user has seen; `fallback`
 * null, items `fallback`) or `<model>@<version>` (the promoted pair until that one loads, counted);
 * its `ordering` overrides the final-ordering defaults.
 *
 * A failure of the personalised path (an ONNX session that cannot run) serves popularity with
 * `model_error` rather than an error response.
 *
 * A replay (`RecommendRequest.replay`, for off-policy evaluation) serves a logged request again
 * through the same steps with a named model version and the user's features as of the request, in
 * no experiment and without exploration, counted in no metric.
 *
 * @example
 * ```ts
 * const recommender = new Recommender({ bundles, online, profiles, catalog, popularity, metrics });
 * const result = await recommender.recommend({ userId: 'u0', k: 10 });
 * result.items[0]; result.fallback; result.model_version; result.experiment_id; result.variant;
 * ```
 */

import { type UserQuery, type UserTowerBatch, userTowerInputs } from '../../features/model-inputs.js';
import { servingFeatures } from '../../features/views/serving.js';
import type { UserView } from '../../features/views/user-view.js';
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
import {
  DEFAULT_ORDERING,
  finalOrder,
  type OrderingSettings,
  orderingFor,
  type RankedItem,
} from './final-ordering.js';
import type { ItemRow } from './item-rows.js';
import type { LiveTable } from './live-table.js';
import type { PopularityLists } from './popularity.js';
import { RankerRows } from './ranker-rows.js';
import {
  counted,
  type FallbackReason,
  type Plan,
  type RecommendRequest,
  type RecommendResult,
} from './recommend-request.js';
import type { ServeMetrics } from './serve-metrics.js';
import type { ServingBundle } from './serving-bundle.js';
import { bounded, StoreTimeout } from './store-timeout.js';
import { POPULARITY, variantPair } from './variant-pair.js';

export interface RecommenderOptions {
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

// biome-ignore format: one line
const NO_CONTEXT: InteractionContext = { device: null, country: null, session_id: null, surface: null, request_id: null };
const EMPTY: ReadonlySet<string> = new Set();
/** Keys asked of the index beyond those the filters are known to drop. */
const SEARCH_SLACK = 8;
/** Popularity items listed past k, for the final ordering to move and fill. */
const POPULAR_SLACK = 8;
/** The `experiment` and `variant` label outside every experiment. */
const NONE = 'none';

export class Recommender {
  private readonly timeoutMs: number;
  private readonly ranker: RankerRows;
  private readonly defaults: OrderingSettings;

  constructor(private readonly options: RecommenderOptions) {
    this.timeoutMs = options.storeTimeoutMs ?? 50;
    this.defaults = { ...DEFAULT_ORDERING, ...options.ordering };
    const { online, catalog, itemFeaturesTtlMs, itemPartitions } = options;
    this.ranker = RankerRows.fromStore(online, catalog, itemFeaturesTtlMs, itemPartitions);
  }

  async recommend(request: RecommendRequest): Promise<RecommendResult> {
    const { profiles } = this.options;
    const now = request.now ?? Date.now();
    const profile = profiles.get(request.userId);
    const country = request.context?.country ?? profile?.country ?? null;
    const minor = profile?.age_bucket === MINOR_BUCKET;
    if (profile?.opt_out) {
      // Opted out: in no experiment, and their features are purged, so nothing is known as seen.
      const plan = { request, assignment: undefined, settings: this.defaults, country, minor, now };
      return this.popular(plan, 'opt_out', EMPTY);
    }
    const { replay } = request;
    const assigned =
      request.assignment === null || replay !== undefined
        ? undefined
        : (request.assignment ?? this.options.experiments?.assign(request.userId));
    const { bundle, assignment } =
      replay === undefined
        ? variantPair(this.options.bundles, this.options.metrics, assigned, request.shadow === true)
        : { bundle: this.options.bundles.acquireVersion(replay.model), assignment: undefined };
    const ordering = orderingFor(this.defaults, assignment?.variant.ordering);
    const settings =
      replay === undefined ? ordering : { ...ordering, explorationEpsilon: 0, explorationTemperature: 0 };
    const plan: Plan = { request, assignment, settings, country, minor, now };
    try {
      let view: UserView | undefined;
      if (replay === undefined) {
        const storeStarted = performance.now();
        try {
          view = await this.bounded(this.options.online.get<UserView>('user', request.userId));
        } catch (error) {
          const timeout = error instanceof StoreTimeout;
          if (counted(request))
            this.options.metrics.onlineStoreErrors.inc({ kind: timeout ? 'timeout' : 'error' });
          return this.popular(plan, timeout ? 'online_store_timeout' : 'online_store_unavailable', undefined);
        } finally {
          this.observe(request, 'online_store', storeStarted);
        }
      }
      const history =
        replay !== undefined
          ? replay.features.event_count > 0
          : view !== undefined && (view.event_count > 0 || view.pending.length > 0);
      const readFeatures = () =>
        replay?.features ?? servingFeatures(view!, now, profile, (item) => this.options.catalog.get(item));
      if (assignment?.variant.model === POPULARITY) {
        // What the user did seconds ago is seen too: the view's recent items with those still waiting for the watermark.
        const seen = new Set(history ? readFeatures().recent_items.map((r) => r.item_id) : []);
        return this.popular(plan, null, seen);
      }
      if (!history) return this.popular(plan, 'cold_start', EMPTY);
      if (bundle === undefined) return this.popular(plan, 'no_model', undefined);
      const features = readFeatures();
      const query: UserQuery = {
        userId: request.userId,
        features,
        context: { ...NO_CONTEXT, ...request.context, country },
        ts: now,
      };
      try {
        return await this.personalised(bundle, query, features, plan);
      } catch (error) {
        this.options.onError?.(error);
        return this.popular(plan, 'model_error', undefined);
      }
    } finally {
      bundle?.release();
    }
  }

  private observe(request: RecommendRequest, stage: string, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    if (counted(request)) this.options.metrics.stage.observe({ stage }, seconds);
    spanEvent(stage, { seconds });
  }

  private async personalised(
    bundle: ServingBundle,
    query: UserQuery,
    features: UserFeatures,
    plan: Plan,
  ): Promise<RecommendResult> {
    const { catalog, coVisitation, metrics } = this.options;
    const { request, minor } = plan;
    // Read beside the tower and the search; a failed or slow read serves the ANN candidates alone.
    const coVisits =
      coVisitation &&
      this.bounded(coVisitation.read(features.recent_items)).catch((error) => {
        const kind = error instanceof StoreTimeout ? 'timeout' : 'error';
        if (counted(request)) metrics.onlineStoreErrors.inc({ kind });
        return [];
      });
    // Also beside them: the frontiers the ranker's item rows are read at.
    const ranks = bundle.rankerTrusted && request.rank !== false;
    const frontiersRead = ranks && request.replay === undefined ? this.ranker.readFrontiers() : undefined;
    const towerStarted = performance.now();
    const user = userTowerInputs([query], bundle.vocab);
    const embedding = await bundle.models.userTower.embed(user);
    this.observe(request, 'user_tower', towerStarted);

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
    this.observe(request, 'retrieval', retrievalStarted);

    const frontiers =
      ranks && ids.length > 0
        ? await this.rank(bundle, query, user, ids, scores, request, frontiersRead)
        : null;
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
    const score = request.replay?.score;
    if (score === undefined) return result;
    const asked = [...new Set([...score, ...result.items.map((item) => item.item_id)])];
    // A replay whose items cannot be scored keeps its page and goes without `click`: the caller counts it.
    const click = await this.ranker
      .clickMap(bundle, query, user, asked, request.replay)
      .catch(() => undefined);
    return click === undefined ? result : { ...result, click };
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
    request: RecommendRequest,
    frontiersRead: Promise<number[] | null> | undefined,
  ): Promise<number[] | null> {
    const { metrics } = this.options;
    const started = performance.now();
    let rows: ItemRow[];
    let frontiers: number[] | null;
    try {
      ({ rows, frontiers } = await this.bounded(
        this.ranker.rows(ids, query.ts, request.replay, frontiersRead),
      ));
    } catch (error) {
      // Retrieval order is still personalised: serve it rather than nothing.
      if (counted(request))
        metrics.onlineStoreErrors.inc({ kind: error instanceof StoreTimeout ? 'timeout' : 'error' });
      return null;
    }
    const click = await this.ranker.click(bundle, query, user, ids, rows);
    const weight = this.options.rankerWeight ?? 1;
    for (let i = 0; i < ids.length; i++) scores[i]! += weight * Math.log(Math.max(click[i]!, 1e-6));
    this.observe(request, 'ranker', started);
    return frontiers;
  }

  /**
   * A popularity list: the global one for an opted-out user, else the
   * country's, without what the user has seen or the caller excluded, and
   * without `mature` items for a minor. `fallback` null is the popularity
   * variant's own list, not a degradation.
   */
  private popular(
    plan: Plan,
    reason: FallbackReason | null,
    seen: ReadonlySet<string> | undefined,
  ): RecommendResult {
    const { request, assignment } = plan;
    if (reason !== null && counted(request)) {
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

  private bounded<T>(read: Promise<T>): Promise<T> {
    return bounded(read, this.timeoutMs);
  }
}
