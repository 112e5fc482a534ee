/**
 * Merges the enriched streams of every user-features task in event-time
 * order (then event id), whatever order they were interleaved in on the
 * topic: a {@link WriterMerge} whose writers are the user-features tasks,
 * with its clock in store `item-clock`. A late record sits at the promise
 * it came with rather than at its event time.
 *
 * @example
 * ```ts
 * const merge = new UpstreamMerge(clockStore, ctx.partitionCount);
 * await merge.load();
 * if (merge.acceptRecord(record, offset)) for (let g = merge.nextGroup(); g; g = merge.nextGroup()) handle(g);
 * ctx.holdInput(topic, merge.oldestOffset());
 * ```
 */
import { compareTimeId } from '../../features/math/keys.js';
import { type MergeEntry, type WriterClock, WriterMerge } from '../../runtime/processor/writer-merge.js';
import type { KeyValueStore } from '../../runtime/state/store.js';
import type { Interaction } from '../../schemas/generated/types.js';
import type { EnrichedWire } from './enriched-wire.js';

export const ITEM_CLOCK_STORE = 'item-clock';

/** A released record, with where it sits in the merge. */
export interface Released {
  readonly record: EnrichedWire;
  readonly interaction: Interaction;
  /** Event time, or for a late record the promise it came with. */
  readonly at: number;
}

interface Waiting extends Released, MergeEntry {}

function byEventId(a: Waiting, b: Waiting): number {
  return compareTimeId(a.at, a.interaction.event_id, b.at, b.interaction.event_id);
}

export class UpstreamMerge extends WriterMerge<Waiting> {
  constructor(clockStore: KeyValueStore<WriterClock[]>, partitionCount: number) {
    super(
      clockStore,
      partitionCount,
      byEventId,
      (p, n) => `enriched record from partition ${p}, but the topic has ${n} partitions`,
    );
  }

  /**
   * Takes one record from the input partition at `offset` (not a purge
   * notice); returns whether its task's promise moved on.
   */
  acceptRecord(record: EnrichedWire, offset: number): boolean {
    const interaction = record.interaction;
    const entry =
      interaction === null
        ? null
        : {
            record,
            interaction,
            sequence: record.sequence,
            at: record.late ? record.frontier : interaction.ts,
            offset,
          };
    return this.accept(record.source_partition, record.frontier, entry);
  }

  /** Removes the user features from the user's waiting records, so none of them yields an example. */
  forgetUser(userId: string): void {
    this.rewriteWaiting((w) =>
      w.interaction.user_id !== userId || w.record.userFeatures === null
        ? w
        : { ...w, record: { ...w.record, userFeatures: null } },
    );
  }
}
