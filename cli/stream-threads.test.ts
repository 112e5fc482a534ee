import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../runtime/errors.js';
import { parseThreads, parseThreadsAsked, resolveThreads, threadShare } from './stream-threads.js';

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

test('auto is the cores, at most the largest share of partitions; a count is taken as given', () => {
  assert.equal(parseThreadsAsked('auto', '--threads'), 'auto');
  assert.equal(parseThreadsAsked('3', 'RECSTREAM_PROCESS_THREADS'), 3);
  assert.throws(
    () => parseThreadsAsked('many', 'RECSTREAM_PROCESS_THREADS'),
    (e: unknown) =>
      e instanceof ConfigError && /RECSTREAM_PROCESS_THREADS must be a whole number/.test(e.message),
  );
  assert.equal(
    resolveThreads(
      'auto',
      [
        [0, 1, 2, 3],
        [0, 1],
      ],
      16,
    ),
    4,
    'no thread without a task',
  );
  assert.equal(resolveThreads('auto', [[0, 1, 2, 3]], 2), 2, 'no more threads than cores');
  assert.equal(resolveThreads('auto', [[]], 8), 1);
  assert.equal(resolveThreads(3, [[0, 1, 2, 3]], 2), 3, 'a count is what was asked');
});
