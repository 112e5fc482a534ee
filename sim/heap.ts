/**
 * Live sessions ordered by when they next need attention (`key()`), ties
 * broken by arrival order so the simulated event order is total and hence
 * reproducible. A binary heap: a few hundred live sessions at a time.
 */
import type { Session } from './session.js';

export class SessionHeap {
  private readonly items: Session[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Key of the first session; Infinity when empty. */
  peekKey(): number {
    return this.items.length === 0 ? Number.POSITIVE_INFINITY : this.keys[0]!;
  }

  push(session: Session): void {
    const items = this.items;
    const keys = this.keys;
    const key = session.key();
    let i = items.length;
    items.push(session);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(key, session.seq, keys[parent]!, items[parent]!.seq)) break;
      items[i] = items[parent]!;
      keys[i] = keys[parent]!;
      i = parent;
    }
    items[i] = session;
    keys[i] = key;
  }

  /** The first session, left in place. */
  peek(): Session | undefined {
    return this.items[0];
  }

  pop(): Session | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const last = items.pop()!;
    const lastKey = this.keys.pop()!;
    if (items.length > 0) this.siftDown(last, lastKey);
    return top;
  }

  /**
   * Re-places the first session after its key grew. Cheaper than pop and
   * push, and nearly free when it stays first (the events of one slate).
   */
  updateTop(): void {
    const top = this.items[0]!;
    this.siftDown(top, top.key());
  }

  private siftDown(session: Session, key: number): void {
    const items = this.items;
    const keys = this.keys;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(keys[r]!, items[r]!.seq, keys[l]!, items[l]!.seq) ? r : l;
      if (!before(keys[child]!, items[child]!.seq, key, session.seq)) break;
      items[i] = items[child]!;
      keys[i] = keys[child]!;
      i = child;
    }
    items[i] = session;
    keys[i] = key;
  }
}

function before(keyA: number, seqA: number, keyB: number, seqB: number): boolean {
  return keyA < keyB || (keyA === keyB && seqA < seqB);
}
