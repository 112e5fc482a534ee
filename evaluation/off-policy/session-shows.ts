/**
 * How many earlier lists of the same user's session already held each item
 * of a list: the choice model's fatigue input (./choice-model.ts). A
 * session is the one the client reported in the list's events
 * (`context.session_id`, the visit the user saw the lists in); a list
 * without one falls back to the user view's rule (`SESSION_GAP_MS`): the
 * user's lists less than 30 minutes apart, one after another. The client's
 * id comes first because visits can follow one another within 30 minutes,
 * and what a user tires of is what the visit showed.
 *
 * The logged lists give what users were shown. A version replayed over the
 * window would have shown its own pages instead, and a model's page repeats
 * itself from one request to the next far more than an explored one, so
 * each version's counts come from its own pages (`pageOf`), and from the
 * logged items of a list it was not replayed on.
 *
 * @example
 * ```ts
 * const shows = sessionShows(lists.values(), (list) => pages.get(list.served.request_id));
 * shows.get(requestId); // one count per position of that list's page
 * ```
 */

import { SESSION_GAP_MS } from '../../features/views/user-view.js';
import type { LoggedList } from '../online/served-lists.js';

/** The logged items of a list, in position order. */
export function loggedPage(list: LoggedList): string[] {
  return [...list.served.items].sort((a, b) => a.position - b.position).map((item) => item.item_id);
}

/**
 * Per request id, the session shows of each position of the list's page:
 * `pageOf(list)`, or its logged items where that is undefined.
 */
export function sessionShows(
  lists: Iterable<LoggedList>,
  pageOf: (list: LoggedList) => readonly string[] | undefined = () => undefined,
): Map<string, number[]> {
  const groups = new Map<string, { reported: boolean; lists: LoggedList[] }>();
  for (const list of lists) {
    const session = list.context?.session_id ?? null;
    const key = JSON.stringify([list.served.user_id, session]);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { reported: session !== null, lists: [list] });
    else group.lists.push(list);
  }
  const shows = new Map<string, number[]>();
  for (const { reported, lists: own } of groups.values()) {
    own.sort((a, b) => a.served.served_ts - b.served.served_ts);
    let seen = new Map<string, number>();
    let previous = Number.NEGATIVE_INFINITY;
    for (const list of own) {
      if (!reported && list.served.served_ts - previous > SESSION_GAP_MS) seen = new Map();
      previous = list.served.served_ts;
      const page = pageOf(list) ?? loggedPage(list);
      shows.set(
        list.served.request_id,
        page.map((item) => seen.get(item) ?? 0),
      );
      for (const item of page) seen.set(item, (seen.get(item) ?? 0) + 1);
    }
  }
  return shows;
}
