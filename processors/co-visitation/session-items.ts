/**
 * A user's recent consumed items as the `co-visitation-sessions` processor
 * keeps them (store `session-items`, key user_id): at most `recentItems`,
 * latest first, none more than `windowMs` of event time before the latest.
 * An item consumed again moves to the front instead of appearing twice.
 *
 * `pairsFor` says which of them a new item pairs with and the weight of
 * each: the k-th latest (by event-time distance to the new one) adds 1/k,
 * so the item just before counts most.
 *
 * @example
 * ```ts
 * const session = (await store.get(user)) ?? emptySession();
 * const pairs = pairsFor(session, 'i9', ts, window);   // [{ item_id: 'i3', weight: 1 }, …]
 * remember(session, 'i9', ts, window);
 * ```
 */
import { avroCodec } from '../../runtime/state/codecs/avro-codec.js';
import type { ValueCodec } from '../../runtime/state/store.js';
import type { CoVisitNeighbour } from '../../schemas/generated/types.js';

export const SESSION_ITEMS_STORE = 'session-items';

/** Parallel arrays, latest first; an opted-out user's are empty and stay so. */
export interface SessionItems {
  items: string[];
  ts: number[];
  opt_out: boolean;
}

/** How far back and how many items a new one pairs with (RECSTREAM_CO_VISITATION_WINDOW_MS, _RECENT_ITEMS). */
export interface SessionWindow {
  readonly windowMs: number;
  readonly recentItems: number;
}

export function emptySession(optOut = false): SessionItems {
  return { items: [], ts: [], opt_out: optOut };
}

export const sessionItemsCodec: ValueCodec<SessionItems> = avroCodec<SessionItems>({
  type: 'record',
  name: 'SessionItems',
  namespace: 'rec.state',
  fields: [
    { name: 'items', type: { type: 'array', items: 'string' } },
    { name: 'ts', type: { type: 'array', items: 'long' } },
    { name: 'opt_out', type: 'boolean' },
  ],
});

/**
 * The items of `session` within the window of `ts` (either side: a late
 * event pairs with what came just after it too), other than `item`,
 * nearest first, each with weight 1/k.
 */
export function pairsFor(
  session: SessionItems,
  item: string,
  ts: number,
  window: SessionWindow,
): CoVisitNeighbour[] {
  const near: { item_id: string; gap: number; at: number }[] = [];
  for (let i = 0; i < session.items.length; i++) {
    const gap = Math.abs(ts - session.ts[i]!);
    if (gap <= window.windowMs && session.items[i] !== item)
      near.push({ item_id: session.items[i]!, gap, at: i });
  }
  near.sort((a, b) => a.gap - b.gap || a.at - b.at);
  return near.map((n, k) => ({ item_id: n.item_id, weight: 1 / (k + 1) }));
}

/** Puts `item` at its place by event time, then drops what left the window or the cap. */
export function remember(session: SessionItems, item: string, ts: number, window: SessionWindow): void {
  const old = session.items.indexOf(item);
  if (old >= 0) {
    if (session.ts[old]! >= ts) return;
    session.items.splice(old, 1);
    session.ts.splice(old, 1);
  }
  let at = 0;
  while (at < session.ts.length && session.ts[at]! > ts) at++;
  session.items.splice(at, 0, item);
  session.ts.splice(at, 0, ts);
  const horizon = session.ts[0]! - window.windowMs;
  let keep = Math.min(session.items.length, window.recentItems);
  while (keep > 0 && session.ts[keep - 1]! < horizon) keep--;
  session.items.length = keep;
  session.ts.length = keep;
}
