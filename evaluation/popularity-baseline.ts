/**
 * The popularity baseline of offline evaluation: items ranked by how many
 * users interacted with them in the training part (ties by id), and for
 * each user the top K of that list without the items they already
 * interacted with.
 *
 * @example
 * ```ts
 * const popular = PopularityBaseline.fromSeen(seen);
 * popular.top(20, seen.get('u1'));   // item ids, most popular first
 * ```
 */
export class PopularityBaseline {
  private constructor(private readonly ranked: readonly string[]) {}

  /** From each user's training items: an item counts once per user who has it. */
  static fromSeen(seen: Iterable<ReadonlySet<string>>): PopularityBaseline {
    const counts = new Map<string, number>();
    for (const items of seen) for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
    return new PopularityBaseline(
      [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([item]) => item),
    );
  }

  /** The `k` most popular items, leaving out `exclude`. */
  top(k: number, exclude?: ReadonlySet<string>): string[] {
    const out: string[] = [];
    for (const item of this.ranked) {
      if (out.length === k) break;
      if (!exclude?.has(item)) out.push(item);
    }
    return out;
  }
}
