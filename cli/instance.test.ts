import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../runtime/errors.js';
import { instanceShare, parseInstance } from './instance.js';

test('every partition goes to exactly one instance, p mod N = I, for any count up to the partitions', () => {
  for (let partitions = 1; partitions <= 8; partitions++)
    for (let count = 1; count <= partitions; count++) {
      const owners = new Map<number, number>();
      for (let index = 0; index < count; index++)
        for (const p of instanceShare(partitions, { index, count }, 'app')) {
          assert.equal(owners.get(p), undefined);
          assert.equal(p % count, index);
          owners.set(p, index);
        }
      assert.equal(owners.size, partitions);
    }
  assert.deepEqual(instanceShare(4, parseInstance('1/2'), 'features'), [1, 3]);
});

test('bad instances are refused with what is wrong', () => {
  for (const text of ['2/2', '1', '-1/2', '0/0', 'a/b'])
    assert.throws(
      () => parseInstance(text),
      (err: unknown) => err instanceof ConfigError && /--instance must be I\/N/.test(err.message),
    );
  assert.throws(
    () => instanceShare(2, { index: 2, count: 3 }, 'features'),
    /instance 2\/3 gets no partition of features, which has 2: run at most 2 instances/,
  );
});
