/**
 * The delayed-label join of impressions: an impression's training example
 * (features as of the impression) waits in store `label-join` until the
 * same user clicks through to the item (positive, with the delay) or the
 * label window passes in event time (negative). A click-through joins back
 * to the latest impression of that user and item before it, within the
 * window; it is processed in the same event-time order as everything else
 * in `item-features`, so the join is deterministic on replay.
 *
 * An exposure linked to a served list (its `context.request_id`: an item
 * of a served list, or a client impression carrying the list's id) is one
 * exposure per request and item: a second one (the client's impression of
 * an item the served list already exposed, or the other way round) merges
 * into the waiting one, which gains the served position if it lacked it.
 * It is labelled by the interactions of its user that carry its
 * `request_id` (`attribute`): the first click-through marks it clicked,
 * views, completes and skips give the highest watch fraction, a rate its
 * rating. It waits the whole window, so every linked interaction finds it
 * and a late impression is still merged, then is emitted with what was
 * gathered. A click-through without a request id still labels the latest
 * exposure of its pair before it, linked or not.
 *
 * Store key `<item>\u0000<user>\u0000<timeKey(ts, event_id)>`: one user and
 * item's impressions sort together, oldest first. The in-memory indexes
 * (per pair, per request and item, and by expiry time) are rebuilt from
 * the store on `load`.
 *
 * @example
 * ```ts
 * const join = new LabelJoin(store, windowMs);
 * await join.load();
 * await join.add(example);                        // an impression's example; false when merged into one waiting
 * const linked = await join.attribute(click, wf);  // { outcome, served } for an interaction with a request_id
 * const clicked = await join.resolve(click);       // the joined example, labelled, or undefined
 * for (const negative of await join.expire(frontier)) forward(negative);
 * ```
 */
import { CLICK_THROUGH, impressionLabels } from '../../features/math/interactions.js';
import { timeKey } from '../../features/math/keys.js';
import { TimeQueue } from '../../features/math/time-queue.js';
import type { KeyValueStore } from '../../runtime/state/store.js';
import type { Interaction, ServedPosition, TrainingLabels } from '../../schemas/generated/types.js';
import type { ExampleParts } from './example-parts.js';

export const LABEL_JOIN_STORE = 'label-join';

interface Waiting {
  readonly ts: number;
  readonly id: string;
  readonly key: string;
  readonly pair: string;
  readonly user: string;
  /** Its key in the per-request index when it is linked to a served list; null otherwise. */
  request: string | null;
}

/** What an interaction carrying a request_id found of its list. */
export interface Attribution {
  /**
   * `attributed`: it labelled the waiting exposure of its request and item;
   * `unknown_request`: no exposure of that request and item waits (no such
   * list, not in it, or its window passed); `other_user`: the exposure is
   * another user's. Either of the last two goes on as an ordinary interaction.
   */
  readonly outcome: 'attributed' | 'unknown_request' | 'other_user';
  /** The exposure's served position, when attributed and known. */
  readonly served: ServedPosition | null;
}

function pairOf(itemId: string, userId: string): string {
  return `${itemId}\u0000${userId}`;
}

function requestOf(head: ExampleParts['head']): string | null {
  const request = head.context.request_id;
  return request === null ? null : `${request}\u0000${head.item_id}`;
}

/** A linked exposure's labels after one more of its interactions. */
function engaged(
  labels: TrainingLabels,
  event: Interaction,
  exposedTs: number,
  wf: number | null,
): TrainingLabels {
  const out = { ...labels };
  if (CLICK_THROUGH.has(event.type) && out.clicked !== true) {
    out.clicked = true;
    out.click_delay_ms = Math.max(0, event.ts - exposedTs);
    out.label = 1;
    out.positive = true;
  }
  if (wf !== null && (out.watch_fraction === null || wf > out.watch_fraction)) out.watch_fraction = wf;
  if (event.type === 'rate') out.rating = event.value;
  return out;
}

export class LabelJoin {
  private readonly byPair = new Map<string, Waiting[]>();
  private readonly byTime = new TimeQueue<Waiting>();
  private readonly byRequest = new Map<string, Waiting>();

  constructor(
    private readonly store: KeyValueStore<ExampleParts>,
    private readonly windowMs: number,
  ) {}

  async load(): Promise<void> {
    for await (const [key, example] of this.store.range()) this.index(key, example);
  }

  /** Impressions waiting for their label. */
  get size(): number {
    return this.byTime.size;
  }

  /**
   * Makes an impression's example wait for its label; returns false when
   * it is the same exposure (request and item) as one already waiting,
   * into which it merged.
   */
  async add(example: ExampleParts): Promise<boolean> {
    const { item_id, user_id, ts, example_id } = example.head;
    const request = requestOf(example.head);
    const same = request === null ? undefined : this.byRequest.get(request);
    if (same !== undefined && same.user === user_id) {
      const served = example.head.served;
      const waiting = (await this.store.get(same.key))!;
      if (waiting.head.served === null && served !== null)
        this.store.put(same.key, { ...waiting, head: { ...waiting.head, served } });
      return false;
    }
    const linked =
      request === null ? example : { ...example, head: { ...example.head, labels: impressionLabels(null) } };
    const key = `${pairOf(item_id, user_id)}\u0000${timeKey(ts, example_id)}`;
    this.store.put(key, linked);
    this.index(key, linked);
    return true;
  }

  /**
   * Labels the waiting exposure of the request and item an interaction
   * carries (`event.context.request_id` set) with it: `wf` is its watch
   * fraction. The exposure keeps waiting until its window passes.
   */
  async attribute(event: Interaction, wf: number | null): Promise<Attribution> {
    const waiting = this.byRequest.get(`${event.context.request_id}\u0000${event.item_id}`);
    if (waiting === undefined) return { outcome: 'unknown_request', served: null };
    if (waiting.user !== event.user_id) return { outcome: 'other_user', served: null };
    const example = (await this.store.get(waiting.key))!;
    const labels = engaged(example.head.labels, event, waiting.ts, wf);
    this.store.put(waiting.key, { ...example, head: { ...example.head, labels } });
    return { outcome: 'attributed', served: example.head.served };
  }

  /** The example of the latest impression a click-through follows within the window, labelled positive. */
  async resolve(click: Interaction): Promise<ExampleParts | undefined> {
    const pair = pairOf(click.item_id, click.user_id);
    const list = this.byPair.get(pair);
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const waiting = list[i]!;
      if (waiting.ts >= click.ts) continue;
      if (waiting.ts < click.ts - this.windowMs) return undefined;
      if (waiting.request !== null) {
        await this.attributeTo(waiting, click);
        return undefined;
      }
      list.splice(i, 1);
      if (list.length === 0) this.byPair.delete(pair);
      this.byTime.remove(waiting.ts, waiting.id);
      return this.take(waiting.key, click.ts - waiting.ts);
    }
    return undefined;
  }

  /** Examples of impressions whose window ended before `t` (no click-through can come any more), labelled negative. */
  async expire(t: number): Promise<ExampleParts[]> {
    const out: ExampleParts[] = [];
    while (this.byTime.peekTs() + this.windowMs < t) {
      const waiting = this.byTime.shift()!.value;
      const list = this.byPair.get(waiting.pair);
      if (list !== undefined) {
        const at = list.indexOf(waiting);
        if (at >= 0) list.splice(at, 1);
        if (list.length === 0) this.byPair.delete(waiting.pair);
      }
      if (waiting.request !== null) this.byRequest.delete(waiting.request);
      out.push(await this.take(waiting.key, waiting.request === null ? null : undefined));
    }
    return out;
  }

  /** Drops every waiting impression of the user: no example of theirs is emitted any more. */
  forgetUser(userId: string): void {
    for (const [pair, list] of this.byPair) {
      if (list[0]!.user !== userId) continue;
      for (const waiting of list) {
        this.byTime.remove(waiting.ts, waiting.id);
        if (waiting.request !== null) this.byRequest.delete(waiting.request);
        this.store.delete(waiting.key);
      }
      this.byPair.delete(pair);
    }
  }

  private index(key: string, example: ExampleParts): void {
    const { item_id, user_id, ts, example_id } = example.head;
    const pair = pairOf(item_id, user_id);
    const waiting: Waiting = {
      ts,
      id: example_id,
      key,
      pair,
      user: user_id,
      request: requestOf(example.head),
    };
    if (waiting.request !== null) {
      // One exposure per request and item: a second of another user stays out of the index.
      if (this.byRequest.has(waiting.request)) waiting.request = null;
      else this.byRequest.set(waiting.request, waiting);
    }
    const list = this.byPair.get(pair);
    if (list === undefined) this.byPair.set(pair, [waiting]);
    else list.push(waiting);
    this.byTime.insert(ts, example_id, waiting);
  }

  /** A click-through without a request id on a linked exposure of its pair: marked clicked, still waiting. */
  private async attributeTo(waiting: Waiting, click: Interaction): Promise<void> {
    const example = (await this.store.get(waiting.key))!;
    if (example.head.labels.clicked === true) return;
    const labels = engaged(example.head.labels, click, waiting.ts, null);
    this.store.put(waiting.key, { ...example, head: { ...example.head, labels } });
  }

  /** Removes a waiting example; `clickDelayMs` undefined keeps the labels it has gathered (a linked exposure). */
  private async take(key: string, clickDelayMs: number | null | undefined): Promise<ExampleParts> {
    const example = (await this.store.get(key))!;
    this.store.delete(key);
    if (clickDelayMs === undefined) return example;
    return { ...example, head: { ...example.head, labels: impressionLabels(clickDelayMs) } };
  }
}
