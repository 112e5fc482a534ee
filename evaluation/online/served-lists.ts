/**
 * The served-list log with its clicks: every list of `rec.recommendations`
 * served in a time window (shadow lists, which nobody saw, left out; a list
 * sent twice counted once), each with the items its user clicked through,
 * attributed by `context.request_id` as the experiments' figures and the
 * training labels count them — an interaction of the list's user that
 * shows they took the item (`CLICK_THROUGH`: click, view, complete, like,
 * add_to_list, share, rate), once per (list, item) whatever a client
 * resent — and the request context the client's first event of the list
 * carried (device, country, session), which the served list does not log.
 *
 * Both online evaluation (`eval --online`) and off-policy evaluation
 * (`eval --off-policy`) read the log through this one function.
 *
 * @example
 * ```ts
 * const lists = await readServedLists(log, serde, { from: 0, to: Date.now() });
 * for (const { served, clicked } of lists.values()) clicked.has(served.items[0].item_id);
 * ```
 */
import { CLICK_THROUGH } from '../../features/math/interactions.js';
import { readTopic } from '../../registry/topic-reader.js';
import type { EventLog } from '../../runtime/log/log.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type {
  Interaction,
  InteractionContext,
  ServedRecommendations,
} from '../../schemas/generated/types.js';
import { INTERACTIONS_TOPIC, RECOMMENDATIONS_TOPIC } from '../../schemas/topics.js';

/** One served list and what its user did with it. */
export interface LoggedList {
  readonly served: ServedRecommendations;
  /** The list's items its user clicked through. */
  readonly clicked: Set<string>;
  /** The context of the first interaction of its user that carries its request id; null when none came. */
  context: InteractionContext | null;
}

export interface ServedWindow {
  /** Lists served from this time (epoch ms, inclusive). */
  readonly from: number;
  /** Lists served before this time (epoch ms). */
  readonly to: number;
}

/** Reads `rec.recommendations` and `rec.interactions` whole: the window's lists by request id, in log order. */
export async function readServedLists(
  log: EventLog,
  serde: Serde,
  window: ServedWindow,
): Promise<Map<string, LoggedList>> {
  const lists = new Map<string, LoggedList>();
  for await (const record of readTopic(log, RECOMMENDATIONS_TOPIC)) {
    if (record.value === null) continue;
    const served: ServedRecommendations = await serde.deserialize('rec.recommendations-value', record.value);
    if (served.shadow || served.served_ts < window.from || served.served_ts >= window.to) continue;
    if (lists.has(served.request_id)) continue;
    lists.set(served.request_id, { served, clicked: new Set(), context: null });
  }
  for await (const record of readTopic(log, INTERACTIONS_TOPIC)) {
    if (record.value === null) continue;
    const event: Interaction = await serde.deserialize('rec.interactions-value', record.value);
    if (event.context.request_id === null) continue;
    const list = lists.get(event.context.request_id);
    if (list === undefined || list.served.user_id !== event.user_id) continue;
    list.context ??= event.context;
    if (!CLICK_THROUGH.has(event.type) || !list.served.items.some((item) => item.item_id === event.item_id))
      continue;
    list.clicked.add(event.item_id);
  }
  return lists;
}
