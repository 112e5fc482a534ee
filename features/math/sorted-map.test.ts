import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addToSortedMap } from './sorted-map.js';

test('keys stay in sorted order whatever order they are added in; existing keys add in place', () => {
  let map: Record<string, number> = {};
  for (const [key, delta] of [
    ['PT', 1],
    ['BR', 2],
    ['US', 3],
    ['DE', 4],
    ['PT', 0.5],
  ] as const)
    map = addToSortedMap(map, key, delta);
  assert.deepEqual(Object.entries(map), [
    ['BR', 2],
    ['DE', 4],
    ['PT', 1.5],
    ['US', 3],
  ]);
  const same = addToSortedMap(map, 'DE', 1);
  assert.equal(same, map, 'an existing key changes the map in place');
});
