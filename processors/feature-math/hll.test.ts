import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hash32, hllAdd, hllEstimate, newSketch } from './hll.js';

test('the sketch counts distinct ids within its error, ignores repeats and is order-independent', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => `u${i}`);
  const forward = newSketch();
  const backward = newSketch();
  for (const id of ids) hllAdd(forward, id);
  for (const id of [...ids].reverse()) {
    hllAdd(backward, id);
    hllAdd(backward, id);
  }
  assert.deepEqual(backward, forward);
  const estimate = hllEstimate(forward);
  assert.ok(Math.abs(estimate - 5000) / 5000 < 0.2, `estimate ${estimate}`);
  const small = newSketch();
  for (const id of ['a', 'b', 'c', 'a']) hllAdd(small, id);
  assert.equal(hllEstimate(small), 3);
  assert.equal(hllEstimate(newSketch()), 0);
});

test('hash32 is FNV-1a with the murmur3 finalizer (pinned: stored sketches depend on it)', () => {
  assert.equal(hash32(''), 0xab3e7c0b);
  assert.notEqual(hash32('u1'), hash32('u2'));
});
