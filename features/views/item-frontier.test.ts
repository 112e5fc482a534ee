import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partitionForKey } from '../../runtime/log/partitioner.js';
import { itemFrontierKeys, itemPartition } from './item-frontier.js';

test("each task's frontier key is on that task's partition, one key per partition, the same every time", () => {
  for (const partitions of [1, 2, 3, 8, 12]) {
    const keys = itemFrontierKeys(partitions);
    assert.equal(keys.length, partitions);
    assert.equal(new Set(keys).size, partitions);
    for (const [p, key] of keys.entries())
      assert.equal(partitionForKey(key, partitions), p, `${key} of ${partitions}`);
    assert.equal(itemFrontierKeys(partitions), keys);
  }
  assert.deepEqual(itemFrontierKeys(1), ['frontier-0']);
});

test("an item's frontier is its id's partition, as Kafka's partitioner places its view", () => {
  for (const id of ['i1', 'i7', 'item-42']) assert.equal(itemPartition(id, 3), partitionForKey(id, 3));
});
