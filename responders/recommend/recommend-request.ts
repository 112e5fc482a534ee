/**
 * What a recommendation is asked with and answered with (`Recommender`):
 * the request — user, K, context, the time features are read as of, what
 * to leave out, the experiment assignment — and the ranked items with the
 * pair that served them, or the fallback and why.
 *
 * @example
 * ```ts
 * const request: RecommendRequest = { userId: 'u42', k: 10, context: { country: 'DE' } };
 * const result: RecommendResult = await recommender.recommend(request);
 * result.fallback ?? result.model_version;
 * ```
 */
import type { Assignment } from '../../registry/experiments/assignment.js';
import type {
  ExplorationPoolItem,
  InteractionContext,
  ItemFeatures,
  UserFeatures,
} from '../../schemas/generated/types.js';
import type { ExplorationPolicy, OrderingSettings, RankedItem } from './final-ordering.js';

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
  /** The experiment and variant to serve (a shadow variant); null for none; default the user's assignment. */
  readonly assignment?: Assignment | null;
  /** A shadow scoring: it is not counted in the serving metrics. */
  readonly shadow?: boolean;
  /** The request's id: seeds the exploration's draws; default `<userId>@<now>`. */
  readonly requestId?: string;
  /** false: retrieval's order is served even where the version's ranker serves (offline evaluation's comparison). */
  readonly rank?: boolean;
  /** A logged request served again by a given model version (off-policy evaluation); see `ReplayRequest`. */
  readonly replay?: ReplayRequest;
}

/**
 * A logged request served again, as the off-policy evaluation asks
 * (`evaluation/off-policy/`): by the model version `model`, with the
 * user's features as they were at the request (`features`, from a training
 * example of the list) instead of the online store's, at `now` the request's
 * time. It is in no experiment, explores nothing (the page is the model's
 * deterministic one) and counts in no serving metric; everything else —
 * the filters (what `features` lists as seen), retrieval, the ranker,
 * diversity, freshness and promoted slots — is what a live request runs.
 */
export interface ReplayRequest {
  /** The model version, `<model>@<version>`: the promoted pair or a loaded variant pair. */
  readonly model: string;
  readonly features: UserFeatures;
  /** Items whose ranker click probability the result should carry beside its page's (`RecommendResult.click`). */
  readonly score?: readonly string[];
  /** An item's features as the request's ranker read them; undefined reads the online store's view now. */
  readonly items?: (itemId: string) => ItemFeatures | undefined;
}

export interface RecommendResult {
  readonly items: RankedItem[];
  readonly model_version: string | null;
  readonly index_version: string | null;
  readonly fallback: FallbackReason | null;
  /** The experiment the user was served in; null outside experiments. */
  readonly experiment_id: string | null;
  readonly variant: string | null;
  /** The exploration policy that placed the list (`ServedRecommendations.exploration`); null when it explored nothing. */
  readonly exploration: ExplorationPolicy | null;
  /** A Plackett–Luce page's pool and logits (`ServedRecommendations.exploration_pool`); null when nothing was drawn. */
  readonly exploration_pool: readonly ExplorationPoolItem[] | null;
  /** The item views' frontiers the ranker read them at (`ServedRecommendations.item_frontiers`); null when it read none or they are not known. */
  readonly item_frontiers: readonly number[] | null;
  /** A replay's `score` items' and page's click probabilities from the model's ranker; absent off the personalised path. */
  readonly click?: ReadonlyMap<string, number>;
}

/** Whether a request counts in the serving metrics: neither a shadow scoring nor a replay. */
export function counted(request: RecommendRequest): boolean {
  return !request.shadow && request.replay === undefined;
}

/** What one request is served with, past the experiment assignment. */
export interface Plan {
  readonly request: RecommendRequest;
  readonly assignment: Assignment | undefined;
  readonly settings: OrderingSettings;
  readonly country: string | null;
  readonly minor: boolean;
  readonly now: number;
}
