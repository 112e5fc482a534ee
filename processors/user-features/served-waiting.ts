/**
 * Served lists waiting in `user-features` for the watermark to pass their
 * `served_ts`, kept in store `served-waiting` (key
 * `timeKey(served_ts, request_id)`) rather than by holding the input: the
 * runner reads a task's topics round-robin, so after a restart it may
 * deliver newer interactions before a re-delivered list, which would then
 * be behind the watermark. In memory a list is one small entry; its
 * exposures are made from the stored list when it is released.
 *
 * @example
 * ```ts
 * const waiting = new ServedWaiting(ctx.store(SERVED_WAITING_STORE));
 * for (const entry of await waiting.load()) queue.insert(entry.ts, entry.id, entry);
 * const entry = waiting.put(list);              // on arrival
 * const list = await waiting.take(entry);       // on release; the store forgets it
 * ```
 */
import { timeKey } from '../../features/math/keys.js';
import { servedListId } from '../../features/math/served-exposures.js';
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { ServedRecommendations } from '../../schemas/generated/types.js';

export const SERVED_WAITING_STORE = 'served-waiting';

/** Store `served-waiting`: the waiting lists as they were served. */
export const servedWaitingCodec: ValueCodec<ServedRecommendations> = jsonCodec<ServedRecommendations>();

/** A waiting served list; `excluded` once its user was purged while it waited. */
export interface ListEntry {
  excluded: boolean;
  readonly userId: string;
  readonly ts: number;
  /** Its key in `served-waiting`. */
  readonly key: string;
  /** `servedListId(request_id)`: a list sent again while it waits is queued once. */
  readonly id: string;
}

function entryOf(list: ServedRecommendations, key: string): ListEntry {
  return {
    excluded: false,
    userId: list.user_id,
    ts: list.served_ts,
    key,
    id: servedListId(list.request_id),
  };
}

export class ServedWaiting {
  constructor(private readonly store: KeyValueStore<ServedRecommendations>) {}

  /** The lists that were waiting when the task stopped. */
  async load(): Promise<ListEntry[]> {
    const out: ListEntry[] = [];
    for await (const [key, list] of this.store.range()) out.push(entryOf(list, key));
    return out;
  }

  put(list: ServedRecommendations): ListEntry {
    const key = timeKey(list.served_ts, list.request_id);
    this.store.put(key, list);
    return entryOf(list, key);
  }

  /** The list of a released entry; the store forgets it. */
  async take(entry: ListEntry): Promise<ServedRecommendations | undefined> {
    const list = await this.store.get(entry.key);
    this.store.delete(entry.key);
    return list;
  }

  /** Forgets a list whose user was purged. */
  drop(entry: ListEntry): void {
    this.store.delete(entry.key);
  }
}
