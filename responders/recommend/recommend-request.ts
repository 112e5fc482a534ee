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
import type { InteractionContext } from '../../schemas/generated/types.js';
import type { RankedItem } from './final-ordering.js';

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
}

export interface RecommendResult {
  readonly items: RankedItem[];
  readonly model_version: string | null;
  readonly index_version: string | null;
  readonly fallback: FallbackReason | null;
  /** The experiment the user was served in; null outside experiments. */
  readonly experiment_id: string | null;
  readonly variant: string | null;
}
