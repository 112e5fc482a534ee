import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TopicError } from '../errors.js';
import { validateTopicSpec } from './topic-spec.js';

test('a valid spec gets its defaults; unset retention limits stay absent', () => {
  assert.deepEqual(validateTopicSpec({ name: 'rec.items', partitions: 4 }), {
    name: 'rec.items',
    partitions: 4,
    compacted: false,
  });
  assert.deepEqual(validateTopicSpec({ name: 'a', partitions: 1, compacted: true, retentionMs: 60_000 }), {
    name: 'a',
    partitions: 1,
    compacted: true,
    retentionMs: 60_000,
  });
});

test('a bad name, partition count or retention is a TopicError naming it', () => {
  const refused = (spec: Parameters<typeof validateTopicSpec>[0], pattern: RegExp, max?: number) =>
    assert.throws(
      () => validateTopicSpec(spec, { maxPartitions: max }),
      (e: unknown) => e instanceof TopicError && pattern.test(e.message),
    );
  refused({ name: 'a/b', partitions: 1 }, /invalid topic name "a\/b"/);
  refused({ name: '..', partitions: 1 }, /invalid topic name "\.\."/);
  refused({ name: 't', partitions: 0 }, /t: partitions must be a positive integer, got 0/);
  refused({ name: 't', partitions: 11 }, /t: partitions must be an integer in 1\.\.10, got 11/, 10);
  refused(
    { name: 't', partitions: 1, retentionBytes: -1 },
    /t: retentionBytes must be a positive number, got -1/,
  );
});
