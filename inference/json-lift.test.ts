import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dropArray, dropColumns, liftArray } from './json-lift.js';

test('rows of [string, number, number] lift as a joined string and two number columns, and drop back', () => {
  const rows = [
    ['i1', 1, 1700000000000],
    ['i-2', 7, 1700000000001.5],
  ];
  const lifted = liftArray(rows);
  assert.equal(lifted.tuples, true);
  assert.deepEqual(
    lifted.columns.map((c) => c.kind),
    ['strings', 'numbers', 'numbers'],
  );
  assert.deepEqual(dropArray(lifted), rows);
  assert.deepEqual(dropColumns(lifted), [
    ['i1', 'i-2'],
    [1, 7],
    [1700000000000, 1700000000001.5],
  ]);
});

test('strings holding the separator, mixed values, empty arrays and uneven rows come back as they were', () => {
  for (const array of [['a\nb', 'c'], ['', 'x', ''], [1, 'two', null], [], [['a', 1], ['b']], [[], []]]) {
    const lifted = structuredClone(liftArray(array));
    assert.deepEqual(dropArray(lifted), array);
  }
  assert.equal(liftArray(['a\nb']).columns[0]!.kind, 'values');
});
