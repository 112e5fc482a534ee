/**
 * The item-kNN baseline of offline evaluation, as the collaborative
 * filtering literature computes it on implicit data: the cosine similarity
 * of two items over the users who have them (|U_i ∩ U_j| / √(|U_i|·|U_j|)),
 * each item's `neighbours` most similar items kept (200), and a user's
 * score for an item the sum of its similarities to those of the user's
 * training items that have it among their neighbours. Every item of the training part is
 * ranked; items that score nothing come after, in popularity order (the
 * popularity baseline's), so every list is K long.
 *
 * Memory is the kept similarities, items × neighbours (Last.fm's training
 * part: 15,141 × 200 pairs, 36 MB), never items × items: each item's co-occurrence counts
 * are gathered in one array of the catalog's size, reused item after item,
 * in time proportional to Σ over users of their items squared.
 *
 * @example
 * ```ts
 * const knn = ItemKnnBaseline.fromSeen(seen.values());
 * knn.top(20, seen.get('u1'), seen.get('u1'));   // item ids, best first, the user's own left out
 * knn.neighbours('i7');                          // [['i3', 0.82], …], most similar first
 * ```
 */
import { PopularityBaseline } from './popularity-baseline.js';

/** Neighbours kept per item unless told otherwise: the literature's setting for these data sets. */
export const ITEM_KNN_NEIGHBOURS = 200;

export interface ItemKnnOptions {
  /** How many of its most similar items score an item (200). */
  readonly neighbours?: number;
}

export class ItemKnnBaseline {
  private constructor(
    /** Item ids by index, in id order. */
    private readonly ids: readonly string[],
    private readonly index: ReadonlyMap<string, number>,
    /** Item i's neighbours at `i * neighbourCount` on, most similar first, -1 past the last. */
    private readonly neighbourItems: Int32Array,
    /** Their cosine with i, at the same places. */
    private readonly neighbourSims: Float64Array,
    private readonly popular: PopularityBaseline,
    /** Neighbours kept per item. */
    readonly neighbourCount: number,
  ) {}

  /** From each user's training items (an item counts once per user who has it). */
  static fromSeen(seen: Iterable<ReadonlySet<string>>, options: ItemKnnOptions = {}): ItemKnnBaseline {
    const neighbourCount = options.neighbours ?? ITEM_KNN_NEIGHBOURS;
    if (!(Number.isInteger(neighbourCount) && neighbourCount >= 1))
      throw new RangeError(`item-kNN neighbours must be a whole number >= 1, got ${neighbourCount}`);
    const sets = [...seen];
    const ids = [...new Set(sets.flatMap((items) => [...items]))].sort((a, b) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    const index = new Map(ids.map((id, i) => [id, i]));
    const m = ids.length;
    const userItems = sets.map((items) => Int32Array.from(items, (id) => index.get(id)!));

    // Users of each item, as a CSR.
    const usersFrom = new Int32Array(m + 1);
    for (const items of userItems) for (const i of items) usersFrom[i + 1]!++;
    for (let i = 0; i < m; i++) usersFrom[i + 1]! += usersFrom[i]!;
    const itemUsers = new Int32Array(usersFrom[m]!);
    const fill = usersFrom.slice(0, m);
    userItems.forEach((items, u) => {
      for (const i of items) itemUsers[fill[i]!++] = u;
    });
    const norm = (i: number) => Math.sqrt(usersFrom[i + 1]! - usersFrom[i]!);

    // Each item's neighbours: the items most similar to it, by cosine over their users.
    const together = new Int32Array(m);
    const touched: number[] = [];
    const sims = new Float64Array(m);
    const neighbourItems = new Int32Array(m * neighbourCount).fill(-1);
    const neighbourSims = new Float64Array(m * neighbourCount);
    for (let j = 0; j < m; j++) {
      for (let at = usersFrom[j]!; at < usersFrom[j + 1]!; at++)
        for (const i of userItems[itemUsers[at]!]!) {
          if (i === j) continue;
          if (together[i] === 0) touched.push(i);
          together[i]!++;
        }
      const nj = norm(j);
      for (const i of touched) sims[i] = together[i]! / (nj * norm(i));
      const kept = best(touched, neighbourCount, sims);
      kept.forEach((i, rank) => {
        neighbourItems[j * neighbourCount + rank] = i;
        neighbourSims[j * neighbourCount + rank] = sims[i]!;
      });
      for (const i of touched) together[i] = 0;
      touched.length = 0;
    }

    return new ItemKnnBaseline(
      ids,
      index,
      neighbourItems,
      neighbourSims,
      PopularityBaseline.fromSeen(sets),
      neighbourCount,
    );
  }

  /** Items of the training part. */
  get itemCount(): number {
    return this.ids.length;
  }

  /** The neighbours kept for `item` with their cosine, most similar first (ties by id); empty for an unknown item. */
  neighbours(item: string): [string, number][] {
    const i = this.index.get(item);
    const out: [string, number][] = [];
    if (i === undefined) return out;
    for (let at = i * this.neighbourCount; at < (i + 1) * this.neighbourCount; at++) {
      const j = this.neighbourItems[at]!;
      if (j < 0) break;
      out.push([this.ids[j]!, this.neighbourSims[at]!]);
    }
    return out;
  }

  /**
   * The `k` best items for a user whose training items are `items`, leaving out `exclude`:
   * by score, ties by id, then the most popular of the items that score nothing.
   */
  top(k: number, items: ReadonlySet<string> | undefined, exclude?: ReadonlySet<string>): string[] {
    const scores = new Float64Array(this.ids.length);
    const touched: number[] = [];
    for (const id of items ?? []) {
      const i = this.index.get(id);
      if (i === undefined) continue;
      for (let at = i * this.neighbourCount; at < (i + 1) * this.neighbourCount; at++) {
        const j = this.neighbourItems[at]!;
        if (j < 0) break;
        if (scores[j] === 0) touched.push(j);
        scores[j]! += this.neighbourSims[at]!;
      }
    }
    const candidates = exclude ? touched.filter((j) => !exclude.has(this.ids[j]!)) : touched;
    const out = best(candidates, k, scores).map((j) => this.ids[j]!);
    if (out.length < k) {
      const taken = new Set([...(exclude ?? []), ...out]);
      out.push(...this.popular.top(k - out.length, taken));
    }
    return out;
  }
}

/**
 * The `count` candidates of highest score (ties: lower index first), best first: a bounded
 * min-heap, so choosing 200 of a catalog's items costs a pass over them, not a sort.
 */
function best(candidates: readonly number[], count: number, score: Float64Array): number[] {
  // `a` ranks below `b`: lower score, or the same score and a higher index.
  const worse = (a: number, b: number) => score[a]! < score[b]! || (score[a] === score[b] && a > b);
  const heap: number[] = [];
  const down = (from: number) => {
    for (let at = from; ; ) {
      const l = 2 * at + 1;
      const r = l + 1;
      let low = at;
      if (l < heap.length && worse(heap[l]!, heap[low]!)) low = l;
      if (r < heap.length && worse(heap[r]!, heap[low]!)) low = r;
      if (low === at) return;
      [heap[at], heap[low]] = [heap[low]!, heap[at]!];
      at = low;
    }
  };
  for (const c of candidates) {
    if (heap.length < count) {
      heap.push(c);
      for (let at = heap.length - 1; at > 0; ) {
        const parent = (at - 1) >> 1;
        if (!worse(heap[at]!, heap[parent]!)) break;
        [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
        at = parent;
      }
    } else if (count > 0 && worse(heap[0]!, c)) {
      heap[0] = c;
      down(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
