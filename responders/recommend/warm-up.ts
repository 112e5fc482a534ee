/**
 * One request through each of a bundle's sessions (user tower, index
 * search, ranker) before it serves, so the first real request does not pay
 * for their set-up. The request is of an unknown user with no context, at
 * the time of the warm-up.
 *
 * @example
 * ```ts
 * await warmUp({ models, ann, vocab, itemAt: (key) => keys.itemAt(key) });
 * ```
 */

import { type ModelVocabularies, rankerInputs, userTowerInputs } from '../../features/model-inputs.js';
import { itemFeaturesAt } from '../../features/views/item-view.js';
import { featuresAt } from '../../features/views/user-view.js';
import type { Models } from '../../inference/onnx-models.js';
import type { ThreadIndex } from '../../inference/thread-index.js';

const NO_CONTEXT = { device: null, country: null, session_id: null, surface: null, request_id: null };

/** What a warm-up runs through: a bundle's sessions and index. */
export interface WarmUpTarget {
  readonly models: Models;
  readonly ann: ThreadIndex;
  readonly vocab: ModelVocabularies;
  /** The item behind an ANN key. */
  readonly itemAt: (key: number) => string | undefined;
}

/** Runs one request through the user tower, the index and (when it found candidates) the ranker. */
export async function warmUp({ models, ann, vocab, itemAt }: WarmUpTarget): Promise<void> {
  const ts = Date.now();
  const query = { userId: '', features: featuresAt(undefined, ts, undefined), context: NO_CONTEXT, ts };
  const embedding = await models.userTower.embed(userTowerInputs([query], vocab));
  const found = await ann.search(embedding.subarray(0, ann.config.dimensions), 10);
  const candidates = found.keys.map((key) => ({
    itemId: itemAt(key)!,
    features: itemFeaturesAt(undefined, ts, undefined),
  }));
  if (candidates.length > 0) await models.ranker.score(rankerInputs(query, candidates, vocab));
}
