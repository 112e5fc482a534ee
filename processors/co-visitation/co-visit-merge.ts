/**
 * Merges the co-visit streams of every `co-visitation-sessions` task in
 * the order of the writers' stream time (`frontier`), then `visit_id`,
 * whatever order they were interleaved in on `rec.co-visits`: a
 * {@link WriterMerge} whose writers are the sessions tasks, with its clock
 * in store `co-visit-merge`. Which records the neighbour lists and the
 * visit ids see, and in which order, then depends only on the streams, not
 * on commit timing, crashes or replays (the lists are capped and summed in
 * floating point, so order changes their bytes). A bare watermark (no
 * neighbours) moves its writer's promise only.
 *
 * @example
 * ```ts
 * const merge = new CoVisitMerge(ctx.store(CO_VISIT_MERGE_STORE), ctx.partitionCount);
 * await merge.load();
 * if (merge.acceptVisit(visit, offset)) for (let g = merge.nextGroup(); g; g = merge.nextGroup()) count(g);
 * ctx.holdInput(topic, merge.oldestOffset());
 * ```
 */
import { type MergeEntry, type WriterClock, WriterMerge } from '../../runtime/processor/writer-merge.js';
import type { KeyValueStore } from '../../runtime/state/store.js';
import type { CoVisit } from '../../schemas/generated/types.js';

export const CO_VISIT_MERGE_STORE = 'co-visit-merge';

interface Waiting extends MergeEntry {
  readonly visit: CoVisit;
}

function byVisitId(a: Waiting, b: Waiting): number {
  const x = a.visit;
  const y = b.visit;
  if (x.visit_id !== y.visit_id) return x.visit_id < y.visit_id ? -1 : 1;
  return x.source_partition - y.source_partition || x.sequence - y.sequence;
}

export class CoVisitMerge extends WriterMerge<Waiting> {
  constructor(store: KeyValueStore<WriterClock[]>, partitionCount: number) {
    super(
      store,
      partitionCount,
      byVisitId,
      (p, n) => `co-visit from partition ${p}, but rec.interactions has ${n} partitions`,
    );
  }

  /** Takes one record (a co-visit or a bare watermark) from input offset `offset`; returns whether its writer's promise moved on. */
  acceptVisit(visit: CoVisit, offset: number): boolean {
    const entry =
      visit.neighbours.length > 0 ? { visit, sequence: visit.sequence, at: visit.frontier, offset } : null;
    return this.accept(visit.source_partition, visit.frontier, entry);
  }
}
