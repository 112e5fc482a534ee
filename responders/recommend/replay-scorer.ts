/**
 * A logged request served again, as the off-policy evaluation asks
 * (`evaluation/off-policy/`), over the serving stages the live path runs
 * (./serving-stages.ts): by a named model version, with the user's features
 * as they were at the request instead of the online store's, the ranker's
 * item features as of the request, at the request's time. It is in no
 * experiment, explores nothing (the page is the model's deterministic one:
 * an estimator compares it with the logged draw) and counts in no serving
 * metric; everything else — the opt-out and fallbacks, the filters (what
 * the features list as seen), retrieval, the ranker, diversity, freshness
 * and promoted slots — is what a live request runs. It may also carry the
 * ranker's click probability of items beside its page's, the reward model
 * of a doubly robust estimate.
 *
 * @example
 * ```ts
 * const replays = new ReplayScorer(stages);
 * const result = await replays.score({
 *   userId: 'u0', k: 10, now: served.served_ts, requestId: served.request_id,
 *   model: 'recstream@2', features, score: ['i1', 'i2'], items: (id) => history.at(id, frontier, ts),
 * });
 * result.items; result.click?.get('i1');
 * ```
 */
import type { ItemFeatures, UserFeatures } from '../../schemas/generated/types.js';
import type { PageRequest, RecommendResult } from './recommend-request.js';
import type { ServingStages } from './serving-stages.js';

export interface ReplayRequest extends Pick<PageRequest, 'userId' | 'k' | 'context' | 'requestId'> {
  /** The request's time, which features are read as of. */
  readonly now: number;
  /** The model version, `<model>@<version>`: the promoted pair or a loaded variant pair. */
  readonly model: string;
  /** The user's features at the request (from a training example of the list). */
  readonly features: UserFeatures;
  /** Items whose ranker click probability the result should carry beside its page's (`ReplayResult.click`). */
  readonly score?: readonly string[];
  /** An item's features as the request's ranker read them; undefined reads the online store's view now. */
  readonly items?: (itemId: string) => ItemFeatures | undefined;
}

export interface ReplayResult extends RecommendResult {
  /** The `score` items' and the page's click probabilities from the model's ranker; absent off the personalised path. */
  readonly click?: ReadonlyMap<string, number>;
}

export class ReplayScorer {
  constructor(private readonly stages: ServingStages) {}

  /** The page `request.model` serves the logged request, with the `score` items' click probabilities where it ranks. */
  async score(request: ReplayRequest): Promise<ReplayResult> {
    const { stages } = this;
    const { profile, plan: base } = stages.prepare(request, request.now, false);
    if (profile?.opt_out) return stages.optedOut(base);
    const bundle = stages.options.bundles.acquireVersion(request.model);
    const settings = { ...stages.defaults, explorationEpsilon: 0, explorationTemperature: 0 };
    const plan = { ...base, settings };
    const { features } = request;
    const rows = () => stages.ranker.asOf(request.items);
    try {
      const page = await stages.page(plan, bundle, features.event_count > 0, () => features, rows);
      const { result, ranker } = page;
      if (ranker === undefined || request.score === undefined) return result;
      const asked = [...new Set([...request.score, ...result.items.map((item) => item.item_id)])];
      // A replay whose items cannot be scored keeps its page and goes without `click`: the caller counts it.
      const click = await stages.ranker
        .clickMap(ranker.bundle, ranker.query, ranker.user, asked, rows())
        .catch(() => undefined);
      return click === undefined ? result : { ...result, click };
    } finally {
      bundle?.release();
    }
  }
}
