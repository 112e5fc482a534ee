/**
 * An index manifest's items laid over the model's item vocabulary, made on
 * a session thread for the responder. The indexer keys every item the
 * model was trained with by its vocabulary index, so the thread that serves
 * needs no table of its own for them: the vocabulary it already holds
 * names the item at a key, and `indexedTs` (one number per key) says
 * whether that key is indexed and from which catalog version. Only rows
 * keyed otherwise (items the model never saw) travel as rows. Building a
 * key → item and an item → key table for 94,000 items on the request
 * thread was the largest part of a swap's cost to requests there.
 *
 * @example
 * ```ts
 * const keyed = keyItems(manifest.items, dataset.vocabularies.item); // on the worker
 * keyed.indexedTs[7];     // NaN: the vocabulary's item 7 is not indexed
 * dropColumns(keyed.others); // [ids, keys, ts] of the rows not at their vocabulary index
 * ```
 */
import { ArtifactIntegrityError } from '../registry/errors.js';
import { type LiftedArray, liftArray } from './json-lift.js';

export interface KeyedItems {
  /** Items in the vocabulary the rows were laid over, `<unk>` included. */
  readonly vocabularySize: number;
  /**
   * By ANN key, over at least the vocabulary: the `updated_ts` the item at
   * that key was indexed at; NaN where no item is indexed at that key.
   */
  readonly indexedTs: Float64Array;
  /** The `[item, key, ts]` rows whose key is not their item's vocabulary index, as columns. */
  readonly others: LiftedArray;
}

/** Lays `items` (an index manifest's `[item, key, ts]` rows) over `vocabulary` (index → item id). */
export function keyItems(items: readonly unknown[], vocabulary: readonly unknown[]): KeyedItems {
  let length = vocabulary.length;
  for (const row of items) {
    if (!isRow(row))
      throw new ArtifactIntegrityError(
        `index manifest has an item that is not an [item, key, ts] row: ${JSON.stringify(row)?.slice(0, 120)}`,
      );
    length = Math.max(length, row[1] + 1);
  }
  const indexedTs = new Float64Array(length).fill(Number.NaN);
  const others: [string, number, number][] = [];
  for (const [itemId, key, ts] of items as readonly [string, number, number][]) {
    // A vocabulary lists each item once, so a row is at its item's index exactly when the vocabulary names it there.
    if (key > 0 && vocabulary[key] === itemId) indexedTs[key] = ts;
    else others.push([itemId, key, ts]);
  }
  return { vocabularySize: vocabulary.length, indexedTs, others: liftArray(others) };
}

function isRow(row: unknown): row is [string, number, number] {
  return (
    Array.isArray(row) &&
    row.length === 3 &&
    typeof row[0] === 'string' &&
    Number.isSafeInteger(row[1]) &&
    row[1] >= 0 &&
    typeof row[2] === 'number'
  );
}
