/**
 * The per-item co-visitation neighbours the `co-visitation` processor keeps
 * (store `co-visitation`, key item_id; online view `co_visitation`): the
 * items consumed together with it by the same user within a window, each
 * with a weight decayed in event time, strongest first.
 *
 * Weights are held as of `ref_ts`, the latest event time added (the
 * decayed-count rule of `features/math/decay.ts`): adding at `ts >= ref_ts`
 * first rescales every weight to `ts`; a late add is discounted to
 * `ref_ts`. A reader at `t` multiplies by `2^(-(t - ref_ts) / h)`, which
 * keeps the order within one item and puts items last touched at different
 * times on one scale. The list is capped: past the cap the weakest
 * neighbour is evicted (ties: the larger item id), so memory per item is
 * bounded and a replay in the same order gives the same bytes.
 *
 * @example
 * ```ts
 * const view = (await store.get('i1')) ?? emptyCoVisitation();
 * addCoVisits(view, ts, [{ item_id: 'i2', weight: 1 }], { halfLifeMs: WEEK_MS, neighbours: 100 });
 * store.put('i1', view);
 * const scale = decayFactor(now - view.ref_ts, WEEK_MS); // view.weights[0] * scale: i2 as of now
 * ```
 */
import { avroCodec } from '../../runtime/state/codecs/avro-codec.js';
import type { ValueCodec } from '../../runtime/state/store.js';
import type { CoVisitNeighbour } from '../../schemas/generated/types.js';
import { decayFactor } from '../math/decay.js';

export const CO_VISITATION_STORE = 'co-visitation';

/** One item's neighbours: parallel arrays, strongest first. */
export interface CoVisitation {
  /** Event time the weights are as of: the latest add. */
  ref_ts: number;
  items: string[];
  weights: number[];
}

/** How neighbours decay and how many an item keeps (RECSTREAM_CO_VISITATION_*). */
export interface CoVisitationLimits {
  readonly halfLifeMs: number;
  readonly neighbours: number;
}

export function emptyCoVisitation(): CoVisitation {
  return { ref_ts: 0, items: [], weights: [] };
}

/** Store `co-visitation`: Avro, arrays in weight order, so equal lists have equal bytes. */
export const coVisitationCodec: ValueCodec<CoVisitation> = avroCodec<CoVisitation>({
  type: 'record',
  name: 'CoVisitation',
  namespace: 'rec.state',
  fields: [
    { name: 'ref_ts', type: 'long' },
    { name: 'items', type: { type: 'array', items: 'string' } },
    { name: 'weights', type: { type: 'array', items: 'double' } },
  ],
});

/**
 * Adds the weights of `neighbours` at event time `ts`, then sorts strongest
 * first and evicts past `limits.neighbours`.
 */
export function addCoVisits(
  view: CoVisitation,
  ts: number,
  neighbours: readonly CoVisitNeighbour[],
  limits: CoVisitationLimits,
): void {
  let discount = 1;
  if (view.items.length === 0) view.ref_ts = ts;
  else if (ts > view.ref_ts) {
    const factor = decayFactor(ts - view.ref_ts, limits.halfLifeMs);
    for (let i = 0; i < view.weights.length; i++) view.weights[i]! *= factor;
    view.ref_ts = ts;
  } else discount = decayFactor(view.ref_ts - ts, limits.halfLifeMs);
  for (const n of neighbours) {
    const at = view.items.indexOf(n.item_id);
    if (at >= 0) view.weights[at]! += n.weight * discount;
    else {
      view.items.push(n.item_id);
      view.weights.push(n.weight * discount);
    }
  }
  sortAndCap(view, limits.neighbours);
}

function sortAndCap(view: CoVisitation, cap: number): void {
  const order = view.items.map((_, i) => i);
  order.sort((a, b) => {
    const byWeight = view.weights[b]! - view.weights[a]!;
    if (byWeight !== 0) return byWeight;
    const x = view.items[a]!;
    const y = view.items[b]!;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const kept = order.length > cap ? order.slice(0, cap) : order;
  const items = kept.map((i) => view.items[i]!);
  view.weights = kept.map((i) => view.weights[i]!);
  view.items = items;
}
