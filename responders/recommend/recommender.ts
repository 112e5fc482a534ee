/**
 * The live path of `GET /v1/recommendations/:userId`, also what `recstream eval` scores holdout
 * users with, over the serving stages (./serving-stages.ts):
 *
 * 1. the user's profile from `rec.users`; an opted-out user gets the global popularity list
 *    (`opt_out`);
 * 2. the user (unless opted out) is assigned a running experiment's variant and served its model:
 *    `promoted`, `popularity` (the country's list less what the user has seen; `fallback` null,
 *    items `fallback`) or `<model>@<version>` (the promoted pair until that one loads, counted);
 *    its `ordering` overrides the final-ordering defaults;
 * 3. one online-store round trip for the user's view, bounded by `storeTimeoutMs` (a slow or failed
 *    store degrades to popularity, `online_store_timeout` / `online_store_unavailable`, instead of
 *    piling requests up); the user's features are read from it, so events from seconds ago count
 *    (the view's pending events folded in);
 * 4. the page (`ServingStages.page`: the fallbacks before the model, tower, retrieval, ranker,
 *    diversity, final ordering), the ranker's item rows read from the item views (each item's
 *    view cached for a second, and read again once the item views' frontier moved) at the
 *    frontiers read beside the tower and the search, which go with the list.
 *
 * A logged request served again for off-policy evaluation goes through ./replay-scorer.ts, over
 * the same stages; this path serves live requests and their shadow scorings only.
 *
 * @example
 * ```ts
 * const recommender = new Recommender(new ServingStages({ bundles, online, profiles, catalog, popularity, metrics }));
 * const result = await recommender.recommend({ userId: 'u0', k: 10 });
 * result.items[0]; result.fallback; result.model_version; result.experiment_id; result.variant;
 * ```
 */

import { servingFeatures } from '../../features/views/serving.js';
import type { UserView } from '../../features/views/user-view.js';
import { orderingFor } from './final-ordering.js';
import type { Plan, RecommendRequest, RecommendResult } from './recommend-request.js';
import type { ServingStages } from './serving-stages.js';
import { StoreTimeout } from './store-timeout.js';
import { POPULARITY, variantPair } from './variant-pair.js';

export class Recommender {
  constructor(private readonly stages: ServingStages) {}

  async recommend(request: RecommendRequest): Promise<RecommendResult> {
    const { stages } = this;
    const { bundles, catalog, experiments, metrics, online } = stages.options;
    const now = request.now ?? Date.now();
    const shadow = request.shadow === true;
    const { profile, plan: base } = stages.prepare(request, now, !shadow);
    if (profile?.opt_out) return stages.optedOut(base);
    const assigned =
      request.assignment === null ? undefined : (request.assignment ?? experiments?.assign(request.userId));
    const { bundle, assignment } = variantPair(bundles, metrics, assigned, shadow);
    const settings = orderingFor(stages.defaults, assignment?.variant.ordering);
    const plan: Plan = { ...base, assignment, settings };
    try {
      let view: UserView | undefined;
      const storeStarted = performance.now();
      try {
        view = await stages.bounded(online.get<UserView>('user', request.userId));
      } catch (error) {
        const timeout = error instanceof StoreTimeout;
        if (plan.counted) metrics.onlineStoreErrors.inc({ kind: timeout ? 'timeout' : 'error' });
        return stages.popular(plan, timeout ? 'online_store_timeout' : 'online_store_unavailable', undefined);
      } finally {
        stages.observe(plan, 'online_store', storeStarted);
      }
      const history = view !== undefined && (view.event_count > 0 || view.pending.length > 0);
      const features = () => servingFeatures(view!, now, profile, (item) => catalog.get(item));
      if (assignment?.variant.model === POPULARITY) {
        // What the user did seconds ago is seen too: the view's recent items with those still waiting for the watermark.
        const seen = new Set(history ? features().recent_items.map((r) => r.item_id) : []);
        return stages.popular(plan, null, seen);
      }
      const page = await stages.page(plan, bundle, history, features, () => stages.ranker.live());
      return page.result;
    } finally {
      bundle?.release();
    }
  }
}
