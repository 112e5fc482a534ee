/**
 * Offline evaluation of a model version through the serving path: each
 * holdout user's features as a responder reads them (online store, events
 * not yet released folded in), the exported user tower run in Node
 * (onnxruntime), and exact inner-product retrieval over the model's item
 * embeddings of the whole catalog, items the user already interacted with
 * left out. The popularity baseline (most interacted items in the training
 * part, the user's own left out) is scored on the same users in the same
 * run.
 *
 * @example
 * ```ts
 * const result = await evaluateModel({ platform, store, model, holdout, seen, ks: [10, 20, 50] });
 * result.recstream[20].recall; result.popularity[20].recall;
 * ```
 */

import type { ArtifactStore } from '../registry/model-store.js';
import type { Platform } from '../runtime/platform.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { ModelScorer } from './model-scorer.js';
import { PopularityBaseline } from './popularity-baseline.js';
import { RankingMetrics, type RankingResult } from './ranking-metrics.js';
import { type ServeTime, serveTimeOf } from './serve-time.js';
import { withUserFeatures } from './user-features.js';

export interface EvaluateOptions {
  readonly platform: Platform;
  readonly store: ArtifactStore;
  readonly model: ModelVersion;
  /** Per user, the items to find. */
  readonly holdout: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per user, the items of the training part (left out of their ranking; the popularity counts). */
  readonly seen: ReadonlyMap<string, ReadonlySet<string>>;
  /** Leave each user's `seen` items out of their ranking (default true); false ranks everything. */
  readonly excludeSeen?: boolean;
  readonly ks: readonly number[];
  /**
   * The time each user is served at, features read as of it: one time for
   * everyone, or each user's own (`recstream eval` serves each user a second
   * after their own last training event); default the current time.
   */
  readonly now?: ServeTime;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface EvaluationResult {
  readonly users: number;
  readonly recstream: Readonly<Record<number, RankingResult>>;
  readonly popularity: Readonly<Record<number, RankingResult>>;
}

const BATCH = 256;
const NO_CONTEXT = { device: null, country: null, session_id: null, surface: null, request_id: null };

export async function evaluateModel(options: EvaluateOptions): Promise<EvaluationResult> {
  const scorer = await ModelScorer.open(options.store, options.model);
  const kMax = Math.max(...options.ks);
  const ours = new Map(options.ks.map((k) => [k, new RankingMetrics(k, scorer.catalogSize)]));
  const popular = new Map(options.ks.map((k) => [k, new RankingMetrics(k, scorer.catalogSize)]));

  const byPopularity = PopularityBaseline.fromSeen(options.seen.values());
  const none = new Set<string>();
  const exclude = options.excludeSeen ?? true;

  const users = [...options.holdout.keys()].filter((u) => options.holdout.get(u)!.size > 0).sort();
  const now = options.now ?? Date.now();
  try {
    await withUserFeatures(options.platform, async (read) => {
      for (let from = 0; from < users.length; from += BATCH) {
        const batch = users.slice(from, from + BATCH);
        const features = await read(batch, now);
        const ranked = await scorer.topK(
          batch.map((userId, i) => ({
            userId,
            features: features[i]!,
            context: NO_CONTEXT,
            ts: serveTimeOf(now, userId),
          })),
          kMax,
          (i) => (exclude ? (options.seen.get(batch[i]!) ?? none) : none),
        );
        batch.forEach((userId, i) => {
          const relevant = options.holdout.get(userId)!;
          for (const metrics of ours.values()) metrics.add(ranked[i]!.items, relevant);
          const baseline = byPopularity.top(kMax, exclude ? options.seen.get(userId) : undefined);
          for (const metrics of popular.values()) metrics.add(baseline, relevant);
        });
        options.onProgress?.(Math.min(users.length, from + BATCH), users.length);
      }
    });
  } finally {
    await scorer.close();
  }
  const result = (m: Map<number, RankingMetrics>) =>
    Object.fromEntries([...m].map(([k, metrics]) => [k, metrics.result()])) as Record<number, RankingResult>;
  return { users: users.length, recstream: result(ours), popularity: result(popular) };
}
