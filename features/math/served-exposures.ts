/**
 * A served list (`rec.recommendations`) as exposures: each item the
 * responder sent becomes an impression at `served_ts`, linked to its list
 * by `context.request_id` and carrying its position and what served it.
 * When a client sends no impression events, the served list is the only
 * record of what the user was shown; the feature processors give each
 * exposure the user's and item's features as of `served_ts` and label it
 * from the interactions that carry its `request_id` (`item-features`'
 * label join). Exposures never fold into a feature view: a client that
 * does send impressions would otherwise be counted twice.
 *
 * @example
 * ```ts
 * checkServedList(list, record.key);             // throws ProcessingError naming the field
 * for (const { event, served } of exposuresOf(list)) queue(event, served);
 * ```
 */
import { ProcessingError } from '../../runtime/errors.js';
import { describeUser } from '../../runtime/observability/user-hash.js';
import type { Interaction, ServedPosition, ServedRecommendations } from '../../schemas/generated/types.js';
import { MAX_TS } from './interactions.js';

/** One served item as an impression, with where it stood in its list. */
export interface Exposure {
  readonly event: Interaction;
  readonly served: ServedPosition;
}

/** The deterministic id of served list `requestId` among the waiting events of its task. */
export function servedListId(requestId: string): string {
  return `served/${requestId}`;
}

/** The deterministic event id of the exposure at `position` of list `requestId`. */
export function exposureId(requestId: string, position: number): string {
  return `${servedListId(requestId)}/${position}`;
}

/**
 * Refuses a served list no exposure may come of: the processor throws and
 * the runner dead-letters the record with this message.
 */
export function checkServedList(list: ServedRecommendations, key: string | null): void {
  const what = `served list ${JSON.stringify(list.request_id)}`;
  if (list.request_id === '') throw new ProcessingError('served list has an empty request_id');
  if (key !== list.user_id)
    throw new ProcessingError(
      `${what}: record key ${key === null ? 'null' : describeUser(key)} is not its user_id ${describeUser(list.user_id)} (rec.recommendations is keyed by user)`,
    );
  if (!Number.isSafeInteger(list.served_ts) || list.served_ts < 0 || list.served_ts > MAX_TS)
    throw new ProcessingError(`${what}: served_ts ${list.served_ts} is not a time from 1970 on`);
  const positions = new Set<number>();
  for (const item of list.items) {
    if (item.item_id === '') throw new ProcessingError(`${what}: an item has an empty item_id`);
    if (!Number.isFinite(item.score))
      throw new ProcessingError(`${what}: score ${item.score} of item ${item.item_id} is not finite`);
    if (item.position < 0 || positions.has(item.position))
      throw new ProcessingError(
        `${what}: position ${item.position} of item ${item.item_id} is negative or repeated`,
      );
    positions.add(item.position);
  }
}

/** The list's items as exposures, in served order. */
export function exposuresOf(list: ServedRecommendations): Exposure[] {
  const context = {
    device: null,
    country: null,
    session_id: null,
    surface: list.surface,
    request_id: list.request_id,
  };
  return list.items.map((item) => ({
    event: {
      event_id: exposureId(list.request_id, item.position),
      user_id: list.user_id,
      item_id: item.item_id,
      type: 'impression',
      value: null,
      watch_ms: null,
      ts: list.served_ts,
      context,
    },
    served: {
      position: item.position,
      score: item.score,
      model_version: list.model_version,
      index_version: list.index_version,
      fallback: list.fallback,
    },
  }));
}
