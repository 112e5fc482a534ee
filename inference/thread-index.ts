/**
 * An ANN index held by a `SessionThread` (`thread.openIndex`), used from
 * the thread that owns it as an `AnnIndex` is, with every call a message:
 * the HNSW search, the largest single CPU cost of a recommendation, runs
 * on the session thread beside the request thread. Filters stay here, where
 * the catalog is: `search` asks the thread for `k + margin` keys and, when
 * fewer than `k` pass `exclude`, asks again for four times as many, as
 * `AnnIndex.search` does. Changes (`upsert`, `remove`) are applied on the
 * thread in the order they are asked for, before any later search.
 *
 * @example
 * ```ts
 * const thread = new SessionThread();
 * const index = await thread.openIndex('/data/artifacts/indexes/items/v1/index.usearch');
 * const { keys, scores } = await index.search(userVector, 100, (key) => seen.has(key), seen.size);
 * await index.upsert([100_001], newItemVector);
 * await index.close();
 * ```
 */
import { type AnnIndexConfig, type AnnMatches, checkQuery, oversample } from './ann-index.js';
import type { SessionThread } from './session-thread.js';

export class ThreadIndex {
  private closed = false;

  /** @internal Made by `SessionThread.openIndex`. */
  constructor(
    private readonly thread: SessionThread,
    private readonly id: number,
    readonly config: Required<AnnIndexConfig>,
    private indexed: number,
  ) {}

  /** Vectors in the index, as of the last change this side asked for and saw answered. */
  get size(): number {
    return this.indexed;
  }

  /**
   * The `k` best keys for `query`, best first, leaving out keys for which
   * `exclude` is true; the first ask is for `k + margin` keys (default `k`).
   */
  async search(
    query: Float32Array,
    k: number,
    exclude?: (key: number) => boolean,
    margin = k,
  ): Promise<AnnMatches> {
    checkQuery(query, this.config.dimensions);
    // A copy of its own: a view's message would clone the whole buffer behind it (a batch's outputs).
    const own = query.slice();
    const asks = oversample(this.indexed, k, exclude, margin);
    let step = asks.next();
    while (!step.done) step = asks.next(await this.thread.searchIndex(this.id, own, step.value));
    return step.value;
  }

  /** Adds `keys` with their rows of `vectors`, replacing keys already held. */
  async upsert(keys: readonly number[], vectors: Float32Array): Promise<void> {
    if (keys.length === 0) return;
    this.indexed = await this.thread.changeIndex(this.id, { upsert: { keys: [...keys], vectors } });
  }

  /** Takes `keys` out of the index; unknown keys are ignored. */
  async remove(keys: readonly number[]): Promise<void> {
    if (keys.length === 0) return;
    this.indexed = await this.thread.changeIndex(this.id, { remove: [...keys] });
  }

  /** Frees the index on the thread (the thread ends with its last session or index). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.thread.closeIndex(this.id);
  }
}
