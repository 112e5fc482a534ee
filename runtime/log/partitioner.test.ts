import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { partitionForKey } from './partitioner.js';

test('partitionForKey agrees with kafkajs DefaultPartitioner (Java-compatible murmur2)', () => {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  for (const partitions of [1, 3, 4, 8, 12, 100]) {
    const metadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0 }));
    for (let i = 0; i < 500; i++) {
      // Non-ASCII keys, and keys longer than the encoder's reused 1 KiB buffer.
      const key = i % 7 === 0 ? `ü-${i}-日本` : i % 11 === 0 ? `${'k'.repeat(1100)}-日本-${i}` : `u${i}`;
      const expected = partitioner({
        topic: 't',
        partitionMetadata: metadata as never,
        message: { key, value: null },
      });
      assert.equal(partitionForKey(key, partitions), expected, `key ${key} with ${partitions} partitions`);
    }
  }
});

test('known Java murmur2 partitions', () => {
  // Values computed by org.apache.kafka.common.utils.Utils.murmur2 (see KAFKA-2491 test vectors).
  assert.equal(partitionForKey('21', 1000), (-973932308 & 0x7fffffff) % 1000);
  assert.equal(partitionForKey('foobar', 1000), (-790332482 & 0x7fffffff) % 1000);
});
