/**
 * ε-greedy exploration of a served page, with the exact probability of
 * every placement logged as its `propensity`.
 *
 * Each slot of the deterministic page that is not promoted, top to bottom,
 * draws with probability ε an item of the pool (the eligible candidates
 * below the page), item i with probability proportional to its weight
 * w_i. A drawn item that is not on the page yet replaces the slot's item
 * (which leaves the page) and takes its score, so the list still reads
 * best first; an item drawn again keeps its first slot and the later slot
 * keeps its own item. The draws of different slots are independent, so
 * with q_i = ε·w_i / Σw and m the explorable slots above a slot:
 *
 * - pool item i is at that slot with probability q_i·(1 − q_i)^m (drawn
 *   there, and at none of the m slots above);
 * - the slot's own item stays with probability 1 − Σ_i q_i·(1 − q_i)^m,
 *   and is never anywhere else;
 * - a promoted slot is never drawn for: its item stays, propensity 1.
 *
 * These are the marginal probabilities, given the request, that the item
 * is at that position: what an item-and-position IPS estimate divides by
 * (docs/decisions.md §32).
 *
 * @example
 * ```ts
 * const page = explore(deterministicPage, below, { epsilon: 0.1, weight: () => 1, random: requestRandom(requestId) });
 * page.filter((i) => i.reason === 'explored'); // each with its propensity < 1
 * ```
 */
import type { ServedReason } from '../../schemas/generated/types.js';
import type { RankedItem } from './final-ordering.js';

const EXPLORED: ServedReason = 'explored';
const PROMOTED: ServedReason = 'promoted';

export interface ExplorationOptions {
  /** The probability a slot that is not promoted draws from the pool, in [0, 1). */
  readonly epsilon: number;
  /** A pool item's weight in the draw, > 0 (a fresh item's extra chance). */
  readonly weight: (item: RankedItem) => number;
  /** The request's generator of uniform numbers in [0, 1). */
  readonly random: () => number;
}

/**
 * The page with each slot that is not promoted explored with probability
 * ε from `pool` (items not on the page), every item's `propensity` the
 * probability it is at its position. ε = 0 or an empty pool leaves the
 * page as it is.
 */
export function explore(
  page: readonly RankedItem[],
  pool: readonly RankedItem[],
  options: ExplorationOptions,
): RankedItem[] {
  const { epsilon, random } = options;
  if (!(epsilon > 0) || pool.length === 0) return page.slice();
  const n = pool.length;
  const weights = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    weights[i] = options.weight(pool[i]!);
    total += weights[i]!;
  }
  // q[i]: the chance one slot draws item i; free[i]: (1 − q[i])^m, the chance no slot above drew it.
  const q = weights.map((w) => (epsilon * w) / total);
  const free = new Float64Array(n).fill(1);
  const placed = new Uint8Array(n);
  const out = page.slice();
  for (let j = 0; j < out.length; j++) {
    const slot = out[j]!;
    if (slot.reason === PROMOTED) continue;
    let replaced = 0;
    for (let i = 0; i < n; i++) replaced += q[i]! * free[i]!;
    const drawn = random() < epsilon ? pick(weights, total, random()) : -1;
    if (drawn >= 0 && placed[drawn] === 0) {
      placed[drawn] = 1;
      out[j] = {
        item_id: pool[drawn]!.item_id,
        score: slot.score,
        reason: EXPLORED,
        propensity: q[drawn]! * free[drawn]!,
      };
    } else {
      out[j] = { ...slot, propensity: slot.propensity * (1 - replaced) };
    }
    for (let i = 0; i < n; i++) free[i]! *= 1 - q[i]!;
  }
  return out;
}

/** The index `u` (uniform in [0, 1)) falls on, each index taking its weight's share. */
function pick(weights: Float64Array, total: number, u: number): number {
  let x = u * total;
  for (let i = 0; i < weights.length - 1; i++) {
    x -= weights[i]!;
    if (x < 0) return i;
  }
  return weights.length - 1;
}
