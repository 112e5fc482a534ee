import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HLL_REGISTERS, hash32, hllAdd, hllEstimate, newSketch } from './hll.js';

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

test('new sketches are empty and independent, also across the slabs they are cut from', () => {
  const sketches = Array.from({ length: 600 }, () => newSketch());
  for (const [i, sketch] of sketches.entries()) {
    assert.equal(sketch.length, HLL_REGISTERS);
    hllAdd(sketch, `user-${i}`);
  }
  for (const [i, sketch] of sketches.entries()) {
    const alone = newSketch();
    hllAdd(alone, `user-${i}`);
    assert.deepEqual(sketch, alone, `sketch ${i} holds only its own user`);
  }
});
