import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, STEP_BACKOFF_MS } from './retry.js';

test('backoff pauses one step longer per failure, repeats the last, and starts over after a success', () => {
  const backoff = new Backoff([10, 20, 40]);
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next(), backoff.next()], [10, 20, 40, 40]);
  backoff.reset();
  assert.equal(backoff.next(), 10);
  assert.equal(new Backoff().next(), STEP_BACKOFF_MS[0]);
  assert.throws(() => new Backoff([]), /at least one pause/);
});
