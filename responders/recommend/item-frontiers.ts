/**
 * Reads how far the item views have got (`features/views/item-frontier.ts`)
 * for a request that ranks: one read of every partition's frontier, taken
 * before the item views so the served list can log what its ranker read.
 *
 * @example
 * ```ts
 * const frontiers = new ItemFrontiers(online, 4);
 * await frontiers.read(); // [1735689300000, …] or null
 * ```
 */
import { ITEM_FRONTIER_VIEW, itemFrontierKeys } from '../../features/views/item-frontier.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';

export class ItemFrontiers {
  private readonly keys: readonly string[];

  constructor(
    private readonly online: Pick<OnlineStore, 'getMany'>,
    /** How many item-features tasks there are: partitions of `rec.interactions.enriched`. */
    readonly partitions: number,
  ) {
    this.keys = itemFrontierKeys(partitions);
  }

  /**
   * Each partition's frontier, in partition order; null when one is not
   * known (a task that has released nothing yet, a store without the view,
   * a failed read): the list then logs none, and ranking goes on.
   */
  async read(): Promise<number[] | null> {
    try {
      const values = await this.online.getMany<number>(ITEM_FRONTIER_VIEW, this.keys);
      return values.every((v) => v !== undefined) ? (values as number[]) : null;
    } catch {
      return null;
    }
  }
}
