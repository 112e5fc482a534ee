/**
 * Scores a recommender on a holdout: every holdout user asked for K items
 * with the user's training items excluded, beside the popularity baseline
 * (most interacted items of the training part, the user's own left out) on
 * the same users, and the fallbacks the recommender answered with. Users
 * are scored `concurrency` at a time. With `retrievalAlone`, each user is
 * asked a second time with the ranker left out, so what the ranker adds to
 * retrieval is measured on the same users.

 *
 * @example
 * ```ts
 * const scores = await scoreThroughServing({ recommender, holdout, seen, k: 20, catalogSize, now });
 * scores.recstream.recall; scores.popularity.recall; scores.fallbacks;
 * ```
 */
import type { RecommendResult } from '../responders/recommend/recommend-request.js';
import type { Recommender } from '../responders/recommend/recommender.js';
import { PopularityBaseline } from './popularity-baseline.js';
import { RankingMetrics } from './ranking-metrics.js';
import { type ServeTime, serveTimeOf } from './serve-time.js';

/** Recall@K, NDCG@K, HR@K and catalog coverage of one recommender. */
export interface EvalMetrics {
  readonly recall: number;
  readonly ndcg: number;
  readonly hr: number;
  readonly coverage: number;
}

/** What `scoreThroughServing` measured. */
export interface ServingScores {
  readonly users: number;
  readonly recstream: EvalMetrics;
  readonly popularity: EvalMetrics;
  /** Users served a fallback, by reason. */
  readonly fallbacks: Record<string, number>;
  /** Users served by the model (no fallback). */
  readonly personalised: number;
  /** The same lists in retrieval's order, the ranker left out; null unless `retrievalAlone`. */
  readonly retrieval_only: EvalMetrics | null;
}

/** What `scoreThroughServing` scores, and how. */
export interface ScoreOptions {
  readonly recommender: Pick<Recommender, 'recommend'>;
  /** Per user, the items to find (users with none are not scored). */
  readonly holdout: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per user, the training part's items: excluded from both lists; popularity counts them. */
  readonly seen: ReadonlyMap<string, ReadonlySet<string>>;
  readonly k: number;
  /** Items that could be recommended (the coverage denominator). */
  readonly catalogSize: number;
  /** The time features are read as of: one for every user, or each user's own. */
  readonly now: ServeTime;
  /** Requests in flight; default 16. */
  readonly concurrency?: number;
  /** Score every user a second time without the ranker (`retrieval_only`). */
  readonly retrievalAlone?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

const EMPTY: ReadonlySet<string> = new Set();

const metricsOf = (m: RankingMetrics): EvalMetrics => {
  const { recall, ndcg, hr, coverage } = m.result();
  return { recall, ndcg, hr, coverage };
};

/** Every holdout user through `recommender` and through the popularity baseline. */
export async function scoreThroughServing(options: ScoreOptions): Promise<ServingScores> {
  const { recommender, holdout, seen, k } = options;
  const ours = new RankingMetrics(k, options.catalogSize);
  const popular = new RankingMetrics(k, options.catalogSize);
  const retrieval = options.retrievalAlone ? new RankingMetrics(k, options.catalogSize) : undefined;
  const baseline = PopularityBaseline.fromSeen(seen.values());
  const users = [...holdout.keys()].filter((u) => holdout.get(u)!.size > 0).sort();
  const fallbacks: Record<string, number> = {};
  let personalised = 0;
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < users.length) {
      const userId = users[next++]!;
      const own = seen.get(userId) ?? EMPTY;
      const relevant = holdout.get(userId)!;
      const now = serveTimeOf(options.now, userId);
      // Outside experiments: the offline figures are the promoted model's.
      const result: RecommendResult = await recommender.recommend({
        userId,
        k,
        exclude: own,
        now,
        assignment: null,
      });
      ours.add(
        result.items.map((r) => r.item_id),
        relevant,
      );
      popular.add(baseline.top(k, own), relevant);
      if (retrieval !== undefined) {
        const unranked = await recommender.recommend({
          userId,
          k,
          exclude: own,
          now,
          assignment: null,
          rank: false,
        });
        retrieval.add(
          unranked.items.map((r) => r.item_id),
          relevant,
        );
      }
      if (result.fallback === null) personalised++;
      else fallbacks[result.fallback] = (fallbacks[result.fallback] ?? 0) + 1;
      options.onProgress?.(++done, users.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 16) }, worker));
  return {
    users: users.length,
    recstream: metricsOf(ours),
    popularity: metricsOf(popular),
    fallbacks,
    personalised,
    retrieval_only: retrieval === undefined ? null : metricsOf(retrieval),
  };
}
