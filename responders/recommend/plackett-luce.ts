/**
 * Plackett–Luce exploration of a served page: the slots that are not
 * promoted are filled top to bottom by drawing without replacement from a
 * pool, the top `poolSize` ranked candidates (the page's own items and
 * those below it that may be put on a page), item i with probability
 * softmax(score / temperature) over the items not drawn yet. Every order of
 * the pool's items can come out, so a candidate model that reorders the
 * same items, or takes others of the pool, is supported by the log, which
 * ε-greedy's keep-or-replace slots are not (docs/decisions.md §38).
 *
 * Each drawn item logs as its `propensity` the probability it was drawn at
 * its slot given the items placed above it; the probability of a page's
 * first p slots is the product of theirs, which is what an off-policy
 * estimate of another ranking's prefix divides by. A promoted slot keeps
 * its item (propensity 1). Temperature 0, or a pool with one item left,
 * places the ranked order with propensity 1.
 *
 * Scores are those of the ranked list (retrieval plus the ranker, boosted);
 * each slot keeps its deterministic score so the list still reads best
 * first, and an item drawn to a slot other than its deterministic one says
 * `explored`.
 *
 * @example
 * ```ts
 * const { items, pool } = plackettLuce(deterministicPage, ranked, { temperature: 0.5, poolSize: 20, eligible, random: requestRandom(id) });
 * items.reduce((p, item) => p * item.propensity, 1); // the probability of this page
 * pool; // what the slots were drawn from, logged for the marginals of every item at every slot
 * ```
 */
import type { ExplorationPoolItem, ServedReason } from '../../schemas/generated/types.js';
import type { RankedItem } from './final-ordering.js';

const EXPLORED: ServedReason = 'explored';
const PROMOTED: ServedReason = 'promoted';

export interface PlackettLuceOptions {
  /** Softmax temperature over the scores, ≥ 0; 0 places the ranked order. */
  readonly temperature: number;
  /** How many of the ranked candidates the draws take from, at least the page's unpromoted slots. */
  readonly poolSize: number;
  /** Whether an item from below the page may be put on it (the filters a promotion passes). */
  readonly eligible: (item: RankedItem) => boolean;
  /** The request's generator of uniform numbers in [0, 1). */
  readonly random: () => number;
}

/** A drawn page, and the pool with the logits it was drawn by (null when nothing was drawn). */
export interface DrawnPage {
  readonly items: RankedItem[];
  readonly pool: ExplorationPoolItem[] | null;
}

/**
 * The page's unpromoted slots drawn from the pool, each item with the
 * probability of its slot given the slots above. `ranked`: the list the
 * page was cut from, best first.
 */
export function plackettLuce(
  page: readonly RankedItem[],
  ranked: readonly RankedItem[],
  options: PlackettLuceOptions,
): DrawnPage {
  const pool = explorationPool(page, ranked, options);
  const out = page.slice();
  if (!(options.temperature > 0)) return { items: out, pool: null };
  const logits = pool.map((item) => item.score / options.temperature);
  const taken = new Uint8Array(pool.length);
  for (let j = 0; j < out.length; j++) {
    const slot = out[j]!;
    if (slot.reason === PROMOTED) continue;
    const probabilities = softmax(logits, taken);
    const drawn = pick(probabilities, options.random());
    if (drawn < 0) continue;
    taken[drawn] = 1;
    const item = pool[drawn]!;
    const propensity = probabilities[drawn]!;
    out[j] =
      item.item_id === slot.item_id
        ? { ...slot, propensity: slot.propensity * propensity }
        : { item_id: item.item_id, score: slot.score, reason: EXPLORED, propensity };
  }
  return { items: out, pool: pool.map((item, i) => ({ item_id: item.item_id, logit: logits[i]! })) };
}

/**
 * The pool of a page: its unpromoted items, then eligible items from below
 * it, in ranked order, `poolSize` at most but never fewer than the page's
 * unpromoted items (every slot must have an item to draw).
 */
export function explorationPool(
  page: readonly RankedItem[],
  ranked: readonly RankedItem[],
  options: Pick<PlackettLuceOptions, 'poolSize' | 'eligible'>,
): RankedItem[] {
  const promoted = new Set(page.filter((item) => item.reason === PROMOTED).map((item) => item.item_id));
  const onPage = new Set(page.map((item) => item.item_id));
  const pool = page.filter((item) => item.reason !== PROMOTED);
  for (const item of ranked) {
    if (pool.length >= options.poolSize) break;
    if (onPage.has(item.item_id) || promoted.has(item.item_id) || !options.eligible(item)) continue;
    pool.push(item);
  }
  return pool;
}

/** softmax of the logits not taken (0 for those taken), computed from the largest for stability. */
export function softmax(logits: readonly number[], taken: Uint8Array): Float64Array {
  const out = new Float64Array(logits.length);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (taken[i] === 0 && logits[i]! > max) max = logits[i]!;
  if (max === Number.NEGATIVE_INFINITY) return out;
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    if (taken[i] !== 0) continue;
    out[i] = Math.exp(logits[i]! - max);
    total += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= total;
  return out;
}

/** The index `u` (uniform in [0, 1)) falls on; -1 when every probability is 0. */
export function pick(probabilities: Float64Array, u: number): number {
  let last = -1;
  let x = u;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    if (p === 0) continue;
    last = i;
    x -= p;
    if (x < 0) return i;
  }
  return last;
}
