/**
 * An in-memory StoreEngine for tests and small jobs. Nothing survives
 * `close()`: a task on this engine restores its stores from their changelogs
 * every time it opens.
 *
 * Keys are held as latin1 strings (one char per byte), whose natural string
 * order is the byte order RocksDB uses. The sorted key list is rebuilt lazily
 * on the first iteration after keys were added or removed, so writes stay
 * O(1) and scans between commits share one sort.
 *
 * @example
 * ```ts
 * const engine = new MemoryEngine();
 * await engine.write([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
 * for await (const [key, value] of engine.iterate({})) console.log(key, value);
 * ```
 */
import { StateStoreError } from '../../errors.js';
import type { StoreEngine } from '../store.js';

export class MemoryEngine implements StoreEngine {
  private readonly data = new Map<string, Buffer>();
  private sorted: string[] | null = [];
  private closed = false;

  async get(key: Buffer): Promise<Buffer | undefined> {
    this.assertOpen();
    return this.data.get(key.toString('latin1'));
  }

  async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    this.assertOpen();
    return keys.map((key) => this.data.get(key.toString('latin1')));
  }

  async write(writes: readonly { key: Buffer; value: Buffer | null }[]): Promise<void> {
    this.assertOpen();
    for (const { key, value } of writes) {
      const k = key.toString('latin1');
      if (value === null) {
        if (this.data.delete(k)) this.sorted = null;
      } else {
        if (this.sorted !== null && !this.data.has(k)) this.sorted = null;
        // Copied so that a caller reusing its buffer cannot change stored state.
        this.data.set(k, Buffer.from(value));
      }
    }
  }

  /** Not a snapshot: entries written or deleted during the scan may or may not be seen. */
  async *iterate(range: { gte?: Buffer; lt?: Buffer; limit?: number }): AsyncGenerator<[Buffer, Buffer]> {
    this.assertOpen();
    const keys = this.sortedKeys();
    const lt = range.lt?.toString('latin1');
    let left = range.limit ?? Number.POSITIVE_INFINITY;
    for (let i = this.lowerBound(keys, range.gte); i < keys.length && left > 0; i++) {
      const key = keys[i] as string;
      if (lt !== undefined && key >= lt) return;
      const value = this.data.get(key);
      if (value === undefined) continue;
      left--;
      yield [Buffer.from(key, 'latin1'), value];
    }
  }

  async count(range: { gte?: Buffer; lt?: Buffer }): Promise<number> {
    this.assertOpen();
    const keys = this.sortedKeys();
    const lt = range.lt?.toString('latin1');
    let n = 0;
    for (let i = this.lowerBound(keys, range.gte); i < keys.length; i++) {
      if (lt !== undefined && (keys[i] as string) >= lt) break;
      n++;
    }
    return n;
  }

  async clearRange(gte: Buffer, lt: Buffer): Promise<void> {
    this.assertOpen();
    const keys = this.sortedKeys();
    const end = lt.toString('latin1');
    for (let i = this.lowerBound(keys, gte); i < keys.length; i++) {
      const key = keys[i] as string;
      if (key >= end) break;
      this.data.delete(key);
      this.sorted = null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.data.clear();
    this.sorted = null;
  }

  private sortedKeys(): string[] {
    if (this.sorted === null) this.sorted = [...this.data.keys()].sort();
    return this.sorted;
  }

  private lowerBound(keys: readonly string[], gte: Buffer | undefined): number {
    if (gte === undefined) return 0;
    const target = gte.toString('latin1');
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as string) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private assertOpen(): void {
    if (this.closed) throw new StateStoreError('memory state engine used after close');
  }
}
