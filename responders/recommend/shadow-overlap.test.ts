import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listOverlap } from './shadow-runner.js';

test('Jaccard@K of two lists and Kendall tau of the items both hold', () => {
  assert.deepEqual(listOverlap(['a', 'b', 'c'], ['a', 'b', 'c']), { jaccard: 1, kendallTau: 1 });
  assert.deepEqual(listOverlap(['a', 'b', 'c'], ['c', 'b', 'a']), { jaccard: 1, kendallTau: -1 });
  assert.deepEqual(listOverlap(['a', 'b', 'c'], ['b', 'a', 'd']), { jaccard: 0.5, kendallTau: -1 });
  assert.deepEqual(listOverlap(['a', 'b'], ['c', 'd']), { jaccard: 0, kendallTau: null });
  assert.deepEqual(listOverlap(['a', 'b'], ['a', 'd']), { jaccard: 1 / 3, kendallTau: null });
  // Four shared items with one pair swapped: (5 - 1) / 6.
  const { kendallTau } = listOverlap(['a', 'b', 'c', 'd'], ['a', 'c', 'b', 'd']);
  assert.equal(kendallTau, 4 / 6);
  assert.deepEqual(listOverlap([], []), { jaccard: 1, kendallTau: null });
});
