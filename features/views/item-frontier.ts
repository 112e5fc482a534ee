/**
 * Where each item-features task's views have got to (store `item-frontier`,
 * online view `item_frontier`): the event time before which every
 * interaction the task will ever fold has been folded into its item views,
 * the merge's frontier at its last release. A served list logs these
 * (`ServedRecommendations.item_frontiers`) so that off-policy evaluation
 * reads the items as the request read them: the examples of
 * `rec.training-examples` give an item's features as of any time, and the
 * frontier says which time.
 *
 * One key per task, chosen so Kafka's partitioner puts it on that task's
 * partition: an in-process read of the key reaches that task's store, and
 * the materialized copy in Redis keeps one key per task.
 *
 * @example
 * ```ts
 * const keys = itemFrontierKeys(4);
 * const frontiers = await online.getMany<number>(ITEM_FRONTIER_VIEW, keys);
 * const t = frontiers[itemPartition('i7', keys.length)]; // i7's view holds its interactions before t
 * ```
 */
import { partitionForKey } from '../../runtime/log/partitioner.js';
import { numberCodec } from '../../runtime/state/codecs/index.js';
import type { ValueCodec } from '../../runtime/state/store.js';

export const ITEM_FRONTIER_STORE = 'item-frontier';
/** The online view of `item-frontier`, keys `itemFrontierKeys`. */
export const ITEM_FRONTIER_VIEW = 'item_frontier';

/** Store `item-frontier`: the frontier, epoch milliseconds. */
export const itemFrontierCodec: ValueCodec<number> = numberCodec;

const keysByCount = new Map<number, readonly string[]>();

/**
 * The key of each partition's frontier, in partition order: the first
 * `frontier-<n>` that Kafka's partitioner puts on that partition.
 */
export function itemFrontierKeys(partitions: number): readonly string[] {
  const known = keysByCount.get(partitions);
  if (known !== undefined) return known;
  const keys: (string | undefined)[] = new Array(partitions).fill(undefined);
  let found = 0;
  for (let n = 0; found < partitions; n++) {
    const key = `frontier-${n}`;
    const p = partitionForKey(key, partitions);
    if (keys[p] === undefined) {
      keys[p] = key;
      found++;
    }
  }
  const out = keys as string[];
  keysByCount.set(partitions, out);
  return out;
}

/** The partition of an item's view among `partitions` item-features tasks. */
export function itemPartition(itemId: string, partitions: number): number {
  return partitionForKey(itemId, partitions);
}
