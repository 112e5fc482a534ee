import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topK } from './top-k.js';

test('topK returns what a full sort then slice returns, ties and all', () => {
  let seed = 3;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const items = Array.from({ length: 5000 }, (_, i) => ({
    item: `i${i}`,
    score: Math.floor(random() * 50),
    total: Math.floor(random() * 5),
  }));
  const order = (a: (typeof items)[0], b: (typeof items)[0]) =>
    b.score - a.score || b.total - a.total || (a.item < b.item ? -1 : 1);
  for (const k of [0, 1, 7, 500, 5000, 6000])
    assert.deepEqual(topK(items, k, order), [...items].sort(order).slice(0, k), `k = ${k}`);
});
