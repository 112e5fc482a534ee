/**
 * `co-visitation`: the item side of item-to-item co-visitation. From
 * `rec.co-visits` (key item) it adds each record's weights to the item's
 * neighbours (store `co-visitation`, the online view `co_visitation`),
 * decayed by event time with RECSTREAM_CO_VISITATION_HALF_LIFE_MS and
 * capped at RECSTREAM_CO_VISITATION_NEIGHBOURS per item
 * (`features/views/co-visitation.ts`). No wall clock is read, so a replay
 * of the same offsets gives the same bytes.
 *
 * A `visit_id` taken within the dedup horizon (store `co-visit-ids`) adds
 * nothing again: a copy the sessions side wrote twice after a crash. A
 * record whose key is not its item, with an empty id or a weight that is
 * not a positive number is refused and goes to the dead-letter topic.
 *
 * @example
 * ```ts
 * builder.addProcessor('co-visitation', () => new CoVisitationCounts({ halfLifeMs, neighbours, dedupHorizonMs }), ['co-visits']);
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

/** Store of the visit ids taken, over the dedup horizon. */
export const CO_VISIT_IDS_STORE = 'co-visit-ids';

export interface CoVisitationCountsOptions extends CoVisitationLimits {
  /** RECSTREAM_DEDUP_HORIZON_MS. */
  readonly dedupHorizonMs: number;
}

function check(visit: CoVisit | null, key: string | null): CoVisit {
  if (visit === null) throw new ProcessingError('rec.co-visits record has no value');
  const what = `co-visit ${visit.visit_id}`;
  if (visit.visit_id === '') throw new ProcessingError('co-visit has an empty visit_id');
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
  private neighbours!: KeyValueStore<CoVisitation>;
  private seen!: DedupWindow;

  constructor(private readonly options: CoVisitationCountsOptions) {}

  async init(ctx: ProcessorContext<never>): Promise<void> {
    this.neighbours = ctx.store(CO_VISITATION_STORE);
    this.seen = new DedupWindow(ctx.store(CO_VISIT_IDS_STORE), { horizonMs: this.options.dedupHorizonMs });
    await this.seen.load();
  }

  async process(record: StreamRecord<CoVisit | null>): Promise<void> {
    const visit = check(record.value, record.key);
    if (!(await this.seen.firstSeen(visit.visit_id, visit.ts))) return;
    const view = (await this.neighbours.get(visit.item_id)) ?? emptyCoVisitation();
    addCoVisits(view, visit.ts, visit.neighbours, this.options);
    this.neighbours.put(visit.item_id, view);
  }
}
