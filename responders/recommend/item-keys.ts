/**
 * A serving pair's ANN keys and the items behind them. The indexer keys an
 * item the model was trained with by its index in the model's item
 * vocabulary, so those items need no table here: the vocabulary names the
 * item at a key, and one number per key (`indexedTs`, NaN where nothing is
 * indexed) says whether it is indexed and from which catalog version.
 * Items keyed otherwise (added to the catalog after training, with keys
 * past the vocabulary) are kept in two small maps. A new pair is thus
 * ready without a walk over its items on the request thread
 * (`KeyedItems`, made on the pair's session thread).
 *
 * @example
 * ```ts
 * const keys = new ItemKeys(vocab.vocabularies.item, keyed); // keyed: from SessionThread.readIndexManifest
 * keys.itemAt(7);                          // the vocabulary's item 7 when indexed, else undefined
 * keys.track('new-item', keys.nextKey, ts); // an item the model never saw, past the vocabulary
 * keys.forget('new-item');                  // its key, now free of it
 * ```
 */

import type { Vocabulary } from '../../features/vocabulary.js';
import { dropColumns } from '../../inference/json-lift.js';
import type { KeyedItems } from '../../inference/keyed-items.js';
import { ArtifactIntegrityError } from '../../registry/errors.js';

export class ItemKeys {
  private indexed: Float64Array;
  /** Items not at their vocabulary index, both ways. */
  private readonly otherKey = new Map<string, number>();
  private readonly otherAt = new Map<number, string>();
  private next: number;

  constructor(
    private readonly vocabulary: Vocabulary,
    keyed: KeyedItems,
  ) {
    if (keyed.vocabularySize !== vocabulary.size)
      throw new ArtifactIntegrityError(
        `index items were keyed over ${keyed.vocabularySize} vocabulary items, the model has ${vocabulary.size}`,
      );
    this.indexed = keyed.indexedTs;
    let last = vocabulary.size - 1;
    for (let key = this.indexed.length - 1; key > last; key--)
      if (!Number.isNaN(this.indexed[key]!)) {
        last = key;
        break;
      }
    // Keys handed out from here on stay past the vocabulary, so they never meet an item it names.
    this.next = last + 1;
    if (keyed.others.length > 0) {
      const [ids, keys, ts] = dropColumns(keyed.others) as [string[], number[], number[]];
      for (let i = 0; i < ids.length; i++) this.track(ids[i]!, keys[i]!, ts[i]!);
    }
  }

  /** The first key no item has had: where an item the model never saw goes. */
  get nextKey(): number {
    return this.next;
  }

  /** The item indexed at `key`, if any. */
  itemAt(key: number): string | undefined {
    const ts = this.indexed[key];
    if (ts === undefined || Number.isNaN(ts)) return undefined;
    return this.otherAt.get(key) ?? (key < this.vocabulary.size ? this.vocabulary.values[key] : undefined);
  }

  /** The key `itemId` is indexed under, if it is. */
  keyOf(itemId: string): number | undefined {
    const other = this.otherKey.get(itemId);
    if (other !== undefined) return other;
    const key = this.vocabulary.get(itemId);
    if (key === 0 || Number.isNaN(this.indexed[key]!) || this.otherAt.has(key)) return undefined;
    return key;
  }

  /** The `updated_ts` `itemId` was indexed at; -Infinity when it is not indexed. */
  indexedTs(itemId: string): number {
    const key = this.keyOf(itemId);
    return key === undefined ? Number.NEGATIVE_INFINITY : this.indexed[key]!;
  }

  /** Records `itemId` as indexed under `key` at `ts`, replacing whatever was indexed under that key or for that item. */
  track(itemId: string, key: number, ts: number): void {
    const before = this.keyOf(itemId);
    if (before !== undefined && before !== key) this.clear(before);
    const displaced = this.itemAt(key);
    if (displaced !== undefined && displaced !== itemId) this.otherKey.delete(displaced);
    this.otherAt.delete(key);
    this.otherKey.delete(itemId);
    if (key === 0 || key >= this.vocabulary.size || this.vocabulary.values[key] !== itemId) {
      this.otherKey.set(itemId, key);
      this.otherAt.set(key, itemId);
    }
    this.grow(key);
    this.indexed[key] = ts;
    if (key >= this.next) this.next = key + 1;
  }

  /** Forgets `itemId`; returns the key it was indexed under, if it was. */
  forget(itemId: string): number | undefined {
    const key = this.keyOf(itemId);
    if (key !== undefined) this.clear(key);
    return key;
  }

  private clear(key: number): void {
    const other = this.otherAt.get(key);
    if (other !== undefined) this.otherKey.delete(other);
    this.otherAt.delete(key);
    this.indexed[key] = Number.NaN;
  }

  private grow(key: number): void {
    if (key < this.indexed.length) return;
    const grown = new Float64Array(Math.max(key + 1, this.indexed.length * 2)).fill(Number.NaN);
    grown.set(this.indexed);
    this.indexed = grown;
  }
}
