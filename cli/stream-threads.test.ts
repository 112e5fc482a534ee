import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../runtime/errors.js';
import { parseThreads, threadShare } from './stream-threads.js';

test("each stream thread takes every N-th partition of the process's share, and together they take it all once", () => {
  const share = [1, 3, 5, 7, 9];
  const threads = [0, 1, 2].map((t) => threadShare(share, t, 3));
  assert.deepEqual(threads, [[1, 7], [3, 9], [5]]);
  assert.deepEqual(
    threads.flat().sort((a, b) => a - b),
    share,
  );
  assert.deepEqual(threadShare([0, 1], 2, 3), [], 'a thread beyond the partitions gets none');
});

test('--threads is a whole number from 1', () => {
  assert.equal(parseThreads('4'), 4);
  for (const bad of ['0', '-1', '1.5', 'two', ''])
    assert.throws(
      () => parseThreads(bad),
      (e: unknown) => e instanceof ConfigError && /--threads/.test(e.message),
    );
});
