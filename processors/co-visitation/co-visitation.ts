/**
 * `co-visitation`: the item side of item-to-item co-visitation. From
 * `rec.co-visits` (key item) it adds each record's weights to the item's
 * neighbours (store `co-visitation`, the online view `co_visitation`),
 * decayed by event time with RECSTREAM_CO_VISITATION_HALF_LIFE_MS and
 * capped at RECSTREAM_CO_VISITATION_NEIGHBOURS per item
 * (`features/views/co-visitation.ts`). The lists are capped and summed in
 * floating point, so their bytes depend on the order the co-visits are
 * added in: the co-visits of every sessions task are merged by the
 * writer's stream time, then `visit_id` (`co-visit-merge.ts`), which drops
 * what a writer sent twice (after a crash, or a replay that rewrote the
 * topic); the stores are then the same however the writers' records
 * interleave on the topic. No wall clock is read.
 *
 * A `visit_id` taken within the dedup horizon (store `co-visit-ids`) adds
 * nothing again. A record written before the merge (no writer partition)
 * is counted as it arrives. A record whose key is not its item, with an
 * empty id or a weight that is not a positive number is refused and goes
 * to the dead-letter topic.
 *
 * A bounded input (`Processor.endOfInput`) releases every co-visit still
 * waiting for the merge, in order.
 *
 * @example
 * ```ts
 * builder.addProcessor('co-visitation', () => new CoVisitationCounts({ halfLifeMs, neighbours, dedupHorizonMs }), ['co-visits']);
 * // with stores co-visitation, co-visit-ids and co-visit-merge
 * ```
 */
import {
  addCoVisits,
  CO_VISITATION_STORE,
  type CoVisitation,
  type CoVisitationLimits,
  emptyCoVisitation,
} from '../../features/views/co-visitation.js';
import { ProcessingError } from '../../runtime/errors.js';
import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor/processor.js';
import { DedupWindow } from '../../runtime/state/dedup-window.js';
import type { KeyValueStore } from '../../runtime/state/store.js';
import type { CoVisit } from '../../schemas/generated/types.js';
import { CO_VISIT_MERGE_STORE, CoVisitMerge } from './co-visit-merge.js';

/** Store of the visit ids taken, over the dedup horizon. */
export const CO_VISIT_IDS_STORE = 'co-visit-ids';

export interface CoVisitationCountsOptions extends CoVisitationLimits {
  /** RECSTREAM_DEDUP_HORIZON_MS. */
  readonly dedupHorizonMs: number;
}

function check(visit: CoVisit | null, key: string | null): CoVisit {
  if (visit === null) throw new ProcessingError('rec.co-visits record has no value');
  if (visit.neighbours.length === 0 && visit.visit_id === '' && visit.source_partition >= 0) return visit;
  const what = `co-visit ${visit.visit_id}`;
  if (visit.visit_id === '') throw new ProcessingError('co-visit has an empty visit_id');
  if (visit.neighbours.length === 0) throw new ProcessingError(`${what}: no neighbours`);
  if (key !== visit.item_id)
    throw new ProcessingError(`${what}: record key ${JSON.stringify(key)} is not its item_id`);
  if (visit.item_id === '') throw new ProcessingError(`${what}: item_id is empty`);
  for (const n of visit.neighbours) {
    if (n.item_id === '' || n.item_id === visit.item_id)
      throw new ProcessingError(
        `${what}: neighbour ${JSON.stringify(n.item_id)} is empty or the item itself`,
      );
    if (!(Number.isFinite(n.weight) && n.weight > 0))
      throw new ProcessingError(`${what}: weight ${n.weight} of ${n.item_id} is not a positive number`);
  }
  return visit;
}

export class CoVisitationCounts implements Processor<CoVisit | null, never> {
  private ctx!: ProcessorContext<never>;
  private neighbours!: KeyValueStore<CoVisitation>;
  private seen!: DedupWindow;
  private merge!: CoVisitMerge;
  /** The input topic, once a record has come: where the hold on waiting records is kept. */
  private inputTopic: string | undefined;

  constructor(private readonly options: CoVisitationCountsOptions) {}

  async init(ctx: ProcessorContext<never>): Promise<void> {
    this.ctx = ctx;
    this.neighbours = ctx.store(CO_VISITATION_STORE);
    this.seen = new DedupWindow(ctx.store(CO_VISIT_IDS_STORE), { horizonMs: this.options.dedupHorizonMs });
    await this.seen.load();
    this.merge = new CoVisitMerge(ctx.store(CO_VISIT_MERGE_STORE), ctx.partitionCount);
    await this.merge.load();
  }

  async process(record: StreamRecord<CoVisit | null>): Promise<void> {
    const visit = check(record.value, record.key);
    if (visit.source_partition < 0) return this.count(visit);
    const { topic, offset } = this.ctx.recordMetadata()!;
    this.inputTopic = topic;
    if (this.merge.acceptVisit(visit, offset)) await this.release();
    this.ctx.holdInput(topic, this.merge.oldestOffset());
  }

  async endOfInput(): Promise<void> {
    await this.release(Number.POSITIVE_INFINITY);
    if (this.inputTopic !== undefined) this.ctx.holdInput(this.inputTopic, this.merge.oldestOffset());
  }

  /** Counts every group the merge releases before `until` (default: the writers' promises). */
  private async release(until?: number): Promise<void> {
    for (let group = this.merge.nextGroup(until); group; group = this.merge.nextGroup(until))
      for (const { visit } of group) await this.count(visit);
  }

  private async count(visit: CoVisit): Promise<void> {
    if (!(await this.seen.firstSeen(visit.visit_id, visit.ts))) return;
    const view = (await this.neighbours.get(visit.item_id)) ?? emptyCoVisitation();
    addCoVisits(view, visit.ts, visit.neighbours, this.options);
    this.neighbours.put(visit.item_id, view);
  }
}
