import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Vocabulary } from '../../features/vocabulary.js';
import { keyItems } from '../../inference/keyed-items.js';
import { ArtifactIntegrityError } from '../../registry/errors.js';
import { ItemKeys } from './item-keys.js';

const VALUES = ['<unk>', 'a', 'b', 'c', 'd'];

function keysOf(rows: [string, number, number][]): ItemKeys {
  return new ItemKeys(new Vocabulary(VALUES), keyItems(rows, VALUES));
}

test('items at their vocabulary index are named by the vocabulary; unindexed ones by nothing', () => {
  const keys = keysOf([
    ['a', 1, 10],
    ['c', 3, 30],
  ]);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((k) => keys.itemAt(k)),
    [undefined, 'a', undefined, 'c', undefined, undefined],
  );
  assert.equal(keys.keyOf('a'), 1);
  assert.equal(keys.keyOf('b'), undefined, 'in the vocabulary, not in the index');
  assert.equal(keys.keyOf('zz'), undefined);
  assert.equal(keys.indexedTs('c'), 30);
  assert.equal(keys.indexedTs('b'), Number.NEGATIVE_INFINITY);
  assert.equal(keys.nextKey, 5, 'new keys start past the vocabulary');
});

test('items keyed past the vocabulary are tracked, forgotten, and move the next key on', () => {
  const keys = keysOf([
    ['a', 1, 10],
    ['new', 9, 90],
  ]);
  assert.equal(keys.itemAt(9), 'new');
  assert.equal(keys.keyOf('new'), 9);
  assert.equal(keys.nextKey, 10);
  keys.track('newer', keys.nextKey, 100);
  assert.equal(keys.itemAt(10), 'newer');
  assert.equal(keys.nextKey, 11);
  keys.track('a', 1, 11);
  assert.equal(keys.indexedTs('a'), 11, 'a newer version of an indexed item keeps its key');
  assert.equal(keys.forget('new'), 9);
  assert.equal(keys.itemAt(9), undefined);
  assert.equal(keys.keyOf('new'), undefined);
  assert.equal(keys.forget('new'), undefined, 'forgotten once');
  assert.equal(keys.forget('a'), 1);
  assert.equal(keys.itemAt(1), undefined);
  keys.track('a', 1, 12);
  assert.equal(keys.keyOf('a'), 1, 'back at its vocabulary index');
});

test("an item put at another item's vocabulary index displaces it; moving an item frees its old key", () => {
  const keys = keysOf([
    ['a', 1, 10],
    ['b', 2, 20],
    ['d', 3, 30],
  ]);
  assert.equal(keys.itemAt(3), 'd', 'a manifest row off its vocabulary index is kept as it says');
  assert.equal(keys.keyOf('c'), undefined, "c's vocabulary index holds d");
  assert.equal(keys.keyOf('d'), 3);
  keys.track('c', 3, 31);
  assert.equal(keys.itemAt(3), 'c');
  assert.equal(keys.keyOf('d'), undefined, 'd was displaced');
  keys.track('b', 7, 70);
  assert.equal(keys.keyOf('b'), 7);
  assert.equal(keys.itemAt(2), undefined, "b's old key is free");
  keys.track('a', 2, 15);
  assert.equal(keys.itemAt(2), 'a');
  assert.equal(keys.itemAt(1), undefined);
  assert.equal(keys.keyOf('a'), 2);
});

test('items keyed over another vocabulary are refused', () => {
  assert.throws(
    () => new ItemKeys(new Vocabulary(VALUES), keyItems([], [...VALUES, 'e'])),
    ArtifactIntegrityError,
  );
});
