/**
 * The delayed-label join of impressions: an impression's training example
 * (features as of the impression) waits in store `label-join` until the
 * same user clicks through to the item (positive, with the delay) or the
 * label window passes in event time (negative). A click-through joins back
 * to the latest impression of that user and item before it, within the
 * window; it is processed in the same event-time order as everything else
 * in `item-features`, so the join is deterministic on replay.
 *
 * Store key `<item>\u0000<user>\u0000<timeKey(ts, event_id)>`: one user and
 * item's impressions sort together, oldest first. The in-memory indexes
 * (per pair, and by expiry time) are rebuilt from the store on `load`.
 *
 * @example
 * ```ts
 * const join = new LabelJoin(store, windowMs);
 * await join.load();
 * join.add(example);                              // an impression's example
 * const clicked = await join.resolve(click);       // the joined example, labelled, or undefined
 * for (const negative of await join.expire(frontier)) forward(negative);
 * ```
 */
import type { KeyValueStore } from '../../runtime/state/store.js';
import type { Interaction } from '../../schemas/generated/types.js';
import { impressionLabels } from '../feature-math/interactions.js';
import { timeKey } from '../feature-math/keys.js';
import { TimeQueue } from '../feature-math/time-queue.js';
import type { ExampleParts } from './example-parts.js';

export const LABEL_JOIN_STORE = 'label-join';

interface Waiting {
  readonly ts: number;
  readonly id: string;
  readonly key: string;
  readonly pair: string;
  readonly user: string;
}

function pairOf(itemId: string, userId: string): string {
  return `${itemId}\u0000${userId}`;
}

export class LabelJoin {
  private readonly byPair = new Map<string, Waiting[]>();
  private readonly byTime = new TimeQueue<Waiting>();

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

  add(example: ExampleParts): void {
    const { item_id, user_id, ts, example_id } = example.head;
    const key = `${pairOf(item_id, user_id)}\u0000${timeKey(ts, example_id)}`;
    this.store.put(key, example);
    this.index(key, example);
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
      out.push(await this.take(waiting.key, null));
    }
    return out;
  }

  /** Drops every waiting impression of the user: no example of theirs is emitted any more. */
  forgetUser(userId: string): void {
    for (const [pair, list] of this.byPair) {
      if (list[0]!.user !== userId) continue;
      for (const waiting of list) {
        this.byTime.remove(waiting.ts, waiting.id);
        this.store.delete(waiting.key);
      }
      this.byPair.delete(pair);
    }
  }

  private index(key: string, example: ExampleParts): void {
    const { item_id, user_id, ts, example_id } = example.head;
    const pair = pairOf(item_id, user_id);
    const waiting: Waiting = { ts, id: example_id, key, pair, user: user_id };
    const list = this.byPair.get(pair);
    if (list === undefined) this.byPair.set(pair, [waiting]);
    else list.push(waiting);
    this.byTime.insert(ts, example_id, waiting);
  }

  private async take(key: string, clickDelayMs: number | null): Promise<ExampleParts> {
    const example = (await this.store.get(key))!;
    this.store.delete(key);
    return { ...example, head: { ...example.head, labels: impressionLabels(clickDelayMs) } };
  }
}
