import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setRecent } from './recency.js';

const filled = (n: number) => new Map(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

test('far from its bound a map keeps its order; within an eighth of it a key set again becomes the newest', () => {
  const small = filled(10);
  setRecent(small, 'k0', 100, 16);
  assert.deepEqual([...small.keys()].slice(0, 2), ['k0', 'k1'], '10 of 16: the order stays');
  assert.equal(small.get('k0'), 100);

  const near = filled(14);
  setRecent(near, 'k0', 100, 16);
  assert.deepEqual([...near.keys()].at(-1), 'k0', '14 of 16: k0 moves to the newest end');
  assert.equal(near.get('k0'), 100);
  assert.equal(near.size, 14);

  setRecent(near, 'new', 7, 16);
  assert.deepEqual([...near.keys()].at(-1), 'new', 'a new key is the newest either way');
});
