/**
 * The serving pipeline of `GET /v1/recommendations/:userId`, also what
 * `recstream eval` scores holdout users with:
 *
 * 1. the user's profile (opt-out, age bucket, country) from `rec.users`;
 *    an opted-out user gets the global popularity list (`opt_out`);
 * 2. one online-store round trip for the user's view, bounded by
 *    `storeTimeoutMs` (a slow or failed store degrades to popularity,
 *    `online_store_timeout` / `online_store_unavailable`, instead of piling
 *    requests up); a user with no history gets their country's popularity
 *    (`cold_start`); no model loaded, the global list (`no_model`);
 * 3. the user's embedding from the exported user tower, so events from
 *    seconds ago count (the view's pending events folded in);
 * 4. ANN retrieval of `candidates` items, oversampled past the filters:
 *    already seen, unavailable, and `mature` items for users in the 13-17
 *    bucket;
 * 5. the ranker over every candidate in one batched call, its items'
 *    features from a second round trip (each item's view cached for a second); its log click probability is added
 *    to the retrieval score with `rankerWeight`, and only when the model's
 *    holdout said the ranker beats the CTR baseline;
 * 6. diversification: at most `maxPerCategory` of a page share their first
 *    category (the rest move down the list, not out of it);
 * 7. the top `k`.
 *
 * A failure of the personalised path (an ONNX session that cannot run)
 * serves popularity with `model_error` rather than an error response.
 *
 * @example
 * ```ts
 * const recommender = new Recommender({ bundles, online, profiles, catalog, popularity, metrics });
 * const result = await recommender.recommend({ userId: 'u0', k: 10 });
 * result.items[0]; result.fallback; result.model_version;
 * ```
 */

import {
  encodedRankerInputs,
  type UserQuery,
  type UserTowerBatch,
  userTowerInputs,
} from '../../features/model-inputs.js';
import type { ItemView } from '../../features/views/item-view.js';
import { servingFeatures } from '../../features/views/serving.js';
import type { UserView } from '../../features/views/user-view.js';
import { spanEvent } from '../../runtime/observability/tracing.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { InteractionContext, Item, User, UserFeatures } from '../../schemas/generated/types.js';
import type { BundleManager } from './bundle-manager.js';
import { type ItemRow, ItemRows } from './item-rows.js';
import type { LiveTable } from './live-table.js';
import type { PopularityLists } from './popularity.js';
import type { ServeMetrics } from './serve-metrics.js';
import type { ServingBundle } from './serving-bundle.js';

export type FallbackReason =
  | 'opt_out'
  | 'cold_start'
  | 'no_model'
  | 'online_store_timeout'
  | 'online_store_unavailable'
  | 'model_error';

export interface RecommendRequest {
  readonly userId: string;
  readonly k: number;
  readonly context?: Partial<InteractionContext>;
  /** The time features are read as of; default now. */
  readonly now?: number;
  /** Items to leave out besides those the user's view lists as seen (offline evaluation's training items). */
  readonly exclude?: ReadonlySet<string>;
}

export interface RecommendResult {
  readonly items: { readonly item_id: string; readonly score: number }[];
  readonly model_version: string | null;
  readonly index_version: string | null;
  readonly fallback: FallbackReason | null;
}

export interface RecommenderOptions {
  readonly bundles: BundleManager;
  readonly online: OnlineStore;
  readonly profiles: LiveTable<User>;
  readonly catalog: LiveTable<Item>;
  readonly popularity: PopularityLists;
  readonly metrics: ServeMetrics;
  /** How long a candidate's ranker item features are reused, in request time; default 1000 ms. */
  readonly itemFeaturesTtlMs?: number;
  /** Longest wait for an online-store read; default 50 ms. */
  readonly storeTimeoutMs?: number;
  /** Items retrieved for the ranker; default 100. */
  readonly candidates?: number;
  /** Weight of the ranker's log click probability next to the retrieval score; default 1. */
  readonly rankerWeight?: number;
  /** Share of a page that may share a first category; default 0.5. */
  readonly maxCategoryShare?: number;
  /** Told of a failure of the personalised path (the request is served popularity, `model_error`). */
  readonly onError?: (error: unknown) => void;
}

const NO_CONTEXT: InteractionContext = {
  device: null,
  country: null,
  session_id: null,
  surface: null,
  request_id: null,
};
const ADULT_ONLY = 'mature';
const MINOR_BUCKET = '13-17';
const EMPTY: ReadonlySet<string> = new Set();
/** Keys asked of the index beyond those the filters are known to drop. */
const SEARCH_SLACK = 8;

class StoreTimeout extends Error {}

export class Recommender {
  private readonly timeoutMs: number;
  private readonly itemRows: ItemRows;

  constructor(private readonly options: RecommenderOptions) {
    this.timeoutMs = options.storeTimeoutMs ?? 50;
    this.itemRows = new ItemRows(
      (ids) => options.online.getMany<ItemView>('item', ids),
      options.catalog,
      options.itemFeaturesTtlMs,
    );
  }

  async recommend(request: RecommendRequest): Promise<RecommendResult> {
    const { profiles, metrics } = this.options;
    const now = request.now ?? Date.now();
    const profile = profiles.get(request.userId);
    const country = request.context?.country ?? profile?.country ?? null;
    if (profile?.opt_out) return this.popular('opt_out', null, request);
    const bundle = this.options.bundles.acquire();
    try {
      let view: UserView | undefined;
      const storeStarted = performance.now();
      try {
        view = await this.bounded(this.options.online.get<UserView>('user', request.userId));
      } catch (error) {
        const timeout = error instanceof StoreTimeout;
        metrics.onlineStoreErrors.inc({ kind: timeout ? 'timeout' : 'error' });
        return this.popular(timeout ? 'online_store_timeout' : 'online_store_unavailable', country, request);
      } finally {
        const storeSeconds = (performance.now() - storeStarted) / 1000;
        metrics.stage.observe({ stage: 'online_store' }, storeSeconds);
        spanEvent('online_store', { seconds: storeSeconds });
      }
      if (view === undefined || (view.event_count === 0 && view.pending.length === 0))
        return this.popular('cold_start', country, request);
      if (bundle === undefined) return this.popular('no_model', country, request);
      const features = servingFeatures(view, now, profile, (item) => this.options.catalog.get(item));
      const query: UserQuery = {
        userId: request.userId,
        features,
        context: { ...NO_CONTEXT, ...request.context, country },
        ts: now,
      };
      try {
        return await this.personalised(bundle, query, features, profile, request);
      } catch (error) {
        this.options.onError?.(error);
        return this.popular('model_error', country, request);
      }
    } finally {
      bundle?.release();
    }
  }

  private async personalised(
    bundle: ServingBundle,
    query: UserQuery,
    features: UserFeatures,
    profile: User | undefined,
    request: RecommendRequest,
  ): Promise<RecommendResult> {
    const { metrics, catalog } = this.options;
    const towerStarted = performance.now();
    const user = userTowerInputs([query], bundle.vocab);
    const embedding = await bundle.models.userTower.embed(user);
    const towerSeconds = (performance.now() - towerStarted) / 1000;
    metrics.stage.observe({ stage: 'user_tower' }, towerSeconds);
    spanEvent('user_tower', { seconds: towerSeconds });

    const retrievalStarted = performance.now();
    const seen = new Set(features.recent_items.map((r) => r.item_id));
    const extra = request.exclude ?? EMPTY;
    const minor = profile?.age_bucket === MINOR_BUCKET;
    const wanted = Math.max(this.options.candidates ?? 100, request.k);
    // Past `wanted` by as many keys as the filters can drop: the seen and excluded items, a few made
    // unavailable since the index was built, and for a minor any share of mature items.
    const margin = seen.size + extra.size + SEARCH_SLACK + (minor ? wanted : 0);
    const exclude = (key: number) => {
      const itemId = bundle.itemAt(key);
      if (itemId === undefined || seen.has(itemId) || extra.has(itemId)) return true;
      const item = catalog.get(itemId);
      return item === undefined || !item.available || (minor && item.maturity === ADULT_ONLY);
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
    const retrievalSeconds = (performance.now() - retrievalStarted) / 1000;
    metrics.stage.observe({ stage: 'retrieval' }, retrievalSeconds);
    spanEvent('retrieval', { seconds: retrievalSeconds });

    if (bundle.rankerTrusted && ids.length > 0) await this.rank(bundle, query, user, ids, scores);
    const order = ids.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
    return {
      items: this.diversify(order, ids, scores, request.k),
      model_version: bundle.modelLabel,
      index_version: indexVersion,
      fallback: null,
    };
  }

  /** Adds the ranker's weighted log click probability to each candidate's score, in place. */
  private async rank(
    bundle: ServingBundle,
    query: UserQuery,
    user: UserTowerBatch,
    ids: string[],
    scores: number[],
  ): Promise<void> {
    const { metrics } = this.options;
    const started = performance.now();
    let rows: ItemRow[];
    try {
      rows = await this.bounded(this.itemRows.getMany(ids, query.ts));
    } catch (error) {
      // Retrieval order is still personalised: serve it rather than nothing.
      metrics.onlineStoreErrors.inc({ kind: error instanceof StoreTimeout ? 'timeout' : 'error' });
      return;
    }
    const candidates = rows.map((row, i) => ({
      itemId: ids[i]!,
      features: row.features,
      dense: row.dense,
      encoded: row.encodedFor(bundle.vocab, ids[i]!),
    }));
    const { click } = await bundle.models.ranker.score(encodedRankerInputs(query, candidates, user));
    const weight = this.options.rankerWeight ?? 1;
    for (let i = 0; i < ids.length; i++) scores[i]! += weight * Math.log(Math.max(click[i]!, 1e-6));
    const rankerSeconds = (performance.now() - started) / 1000;
    metrics.stage.observe({ stage: 'ranker' }, rankerSeconds);
    spanEvent('ranker', { seconds: rankerSeconds });
  }

  private diversify(order: readonly number[], ids: readonly string[], scores: readonly number[], k: number) {
    const cap = Math.max(1, Math.ceil(k * (this.options.maxCategoryShare ?? 0.5)));
    const perCategory = new Map<string, number>();
    const page: { item_id: string; score: number }[] = [];
    const deferred: number[] = [];
    for (const i of order) {
      if (page.length === k) break;
      const category = this.options.catalog.get(ids[i]!)?.categories[0];
      const count = category === undefined ? 0 : (perCategory.get(category) ?? 0);
      if (category !== undefined && count >= cap) {
        deferred.push(i);
        continue;
      }
      if (category !== undefined) perCategory.set(category, count + 1);
      page.push({ item_id: ids[i]!, score: scores[i]! });
    }
    for (const i of deferred) {
      if (page.length === k) break;
      page.push({ item_id: ids[i]!, score: scores[i]! });
    }
    return page;
  }

  private popular(
    reason: FallbackReason,
    country: string | null,
    request: RecommendRequest,
  ): RecommendResult {
    this.options.metrics.fallbacks.inc({ reason });
    spanEvent('fallback', { reason });
    const list = this.options.popularity.top(reason === 'opt_out' ? null : country);
    const extra = request.exclude ?? EMPTY;
    const items: { item_id: string; score: number }[] = [];
    for (const itemId of list) {
      if (items.length === request.k) break;
      if (extra.has(itemId) || this.options.catalog.get(itemId)?.available === false) continue;
      // Scores of a popularity list only order it: 1 for the first, falling with rank.
      items.push({ item_id: itemId, score: 1 / (1 + items.length) });
    }
    return { items, model_version: null, index_version: null, fallback: reason };
  }

  private bounded<T>(read: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeout()), this.timeoutMs);
    });
    read.catch(() => {});
    return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
  }
}
