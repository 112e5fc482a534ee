import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { dropColumns } from './json-lift.js';
import { keyItems } from './keyed-items.js';

const VOCABULARY = ['<unk>', 'a', 'b', 'c', 'd'];

test('rows at their vocabulary index become one timestamp per key; others stay rows', () => {
  const keyed = keyItems(
    [
      ['a', 1, 100],
      ['c', 3, 300],
      ['new', 7, 700],
      ['d', 2, 200],
    ],
    VOCABULARY,
  );
  assert.equal(keyed.vocabularySize, 5);
  assert.equal(keyed.indexedTs.length, 8, 'past the vocabulary as far as the largest key');
  assert.deepEqual([...keyed.indexedTs.slice(0, 5)], [Number.NaN, 100, Number.NaN, 300, Number.NaN]);
  assert.ok(Number.isNaN(keyed.indexedTs[7]!), 'a row kept as a row is not a timestamp');
  assert.deepEqual(dropColumns(keyed.others), [
    ['new', 'd'],
    [7, 2],
    [700, 200],
  ]);
});

test('an empty index keys nothing', () => {
  const keyed = keyItems([], VOCABULARY);
  assert.equal(keyed.indexedTs.length, 5);
  assert.ok(keyed.indexedTs.every(Number.isNaN));
  assert.equal(keyed.others.length, 0);
});

test('a row that is not [item, key, ts] is refused, naming it', () => {
  for (const row of [['a', 1], ['a', -1, 5], ['a', 1.5, 5], [1, 1, 5], ['a', 1, '5'], { item: 'a' }])
    assert.throws(
      () => keyItems([['b', 2, 1], row], VOCABULARY),
      (error: unknown) =>
        error instanceof ArtifactIntegrityError && error.message.includes(JSON.stringify(row)),
      JSON.stringify(row),
    );
});
