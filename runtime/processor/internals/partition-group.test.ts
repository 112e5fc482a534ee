import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedLog } from '../../log/embedded/embedded-log.js';
import { PartitionGroups } from './partition-group.js';

const CAPACITY = 10;

test('a full queue pauses its partition, so a task waiting for another topic buffers no more than its capacity', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-partition-group-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.late', partitions: 1 });
    await log.ensureTopic({ name: 'rec.early', partitions: 1 });
    // Every record of rec.late is later than every record of rec.early, and is fetched first.
    await log.append(
      'rec.late',
      Array.from({ length: 50 }, (_, i) => ({
        key: 'k',
        value: Buffer.from(`late${i}`),
        timestamp: 1000 + i,
      })),
    );
    await log.append(
      'rec.early',
      Array.from({ length: 50 }, (_, i) => ({ key: 'k', value: Buffer.from(`early${i}`), timestamp: i })),
    );
    const consumer = await log.consumer({ topics: ['rec.late', 'rec.early'], from: 'earliest' });
    const groups = new PartitionGroups(consumer, ['rec.late', 'rec.early'], [0], 0, CAPACITY);
    const order: string[] = [];
    const polledLate: number[] = [];
    for (let round = 0; round < 100 && order.length < 100; round++) {
      const polled = await consumer.poll({ maxRecords: CAPACITY });
      polledLate.push(polled.filter((r) => r.topic === 'rec.late').length);
      groups.add(polled);
      assert.ok(groups.buffered <= 2 * CAPACITY, `${groups.buffered} records buffered`);
      for (const r of groups.drain(Date.now())) order.push(r.value!.toString());
    }
    assert.deepEqual(order, [
      ...Array.from({ length: 50 }, (_, i) => `early${i}`),
      ...Array.from({ length: 50 }, (_, i) => `late${i}`),
    ]);
    assert.equal(polledLate[0], CAPACITY, 'the first poll reads rec.late up to the capacity');
    const whileEarly = polledLate.slice(1, 1 + 50 / CAPACITY);
    assert.deepEqual(whileEarly, [0, 0, 0, 0, 0], 'paused while rec.early is read');
    assert.equal(groups.buffered, 0);
    assert.equal(groups.position('rec.late', 0), 50);
    await consumer.close();
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
