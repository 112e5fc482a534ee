/**
 * What a recommendation is asked with and answered with (`Recommender`):
 * the request — user, K, context, the time features are read as of, what
 * to leave out, the experiment assignment — and the ranked items with the
 * pair that served them, or the fallback and why; and what the serving
 * stages read of a request, live or replayed (`PageRequest`, `Plan`).
 *
 * @example
 * ```ts
 * const request: RecommendRequest = { userId: 'u42', k: 10, context: { country: 'DE' } };
 * const result: RecommendResult = await recommender.recommend(request);
 * result.fallback ?? result.model_version;
 * ```
 */
import type { Assignment } from '../../registry/experiments/assignment.js';
import type { ExplorationPoolItem, InteractionContext } from '../../schemas/generated/types.js';
import type { ExplorationPolicy, OrderingSettings, RankedItem } from './final-ordering.js';

export type FallbackReason =
  | 'opt_out'
  | 'cold_start'
  | 'no_model'
  | 'online_store_timeout'
  | 'online_store_unavailable'
  | 'model_error';

/** What the serving stages (./serving-stages.ts) read of a request, live or replayed. */
export interface PageRequest {
  readonly userId: string;
  readonly k: number;
  readonly context?: Partial<InteractionContext>;
  /** Items to leave out besides those the user's view lists as seen (offline evaluation's training items). */
  readonly exclude?: ReadonlySet<string>;
  /** The request's id: seeds the exploration's draws; default `<userId>@<now>`. */
  readonly requestId?: string;
  /** false: retrieval's order is served even where the version's ranker serves (offline evaluation's comparison). */
  readonly rank?: boolean;
}

export interface RecommendRequest extends PageRequest {
  /** The time features are read as of; default now. */
  readonly now?: number;
  /** The experiment and variant to serve (a shadow variant); null for none; default the user's assignment. */
  readonly assignment?: Assignment | null;
  /** A shadow scoring: it is not counted in the serving metrics. */
  readonly shadow?: boolean;
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
}

/** What one request is served with, past the experiment assignment. */
export interface Plan {
  readonly request: PageRequest;
  readonly assignment: Assignment | undefined;
  readonly settings: OrderingSettings;
  readonly country: string | null;
  readonly minor: boolean;
  readonly now: number;
  /** Whether the serving metrics count it: neither a shadow scoring nor a replay does. */
  readonly counted: boolean;
}
