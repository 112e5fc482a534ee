import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LogUsageError, OffsetOutOfRangeError, TopicError } from '../../errors.js';
import { runLogContract } from '../log.contract.js';
import type { LogRecord } from '../log.js';
import { partitionForKey } from '../partitioner.js';
import { captureLogger, scratchDir } from './embedded-log.fixture.js';
import { EmbeddedLog } from './embedded-log.js';

runLogContract('embedded', async () => {
  const { dir, cleanup } = await scratchDir();
  const log = await EmbeddedLog.open(dir, { maintenanceIntervalMs: 0, logger: captureLogger() });
  return {
    log,
    topic: (base) => base,
    compact: async (topic) => {
      await log.roll(topic);
      await log.compact(topic);
    },
    cleanup: async () => {
      await log.close();
      await cleanup();
    },
  };
});

async function withLog(
  options: Parameters<typeof EmbeddedLog.open>[1],
  body: (log: EmbeddedLog, dir: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await scratchDir();
  const log = await EmbeddedLog.open(dir, { maintenanceIntervalMs: 0, logger: captureLogger(), ...options });
  try {
    await body(log, dir);
  } finally {
    await log.close();
    await cleanup();
  }
}

async function readAll(log: EmbeddedLog, topic: string, partition: number): Promise<LogRecord[]> {
  const [range] = (await log.offsets(topic)).filter((o) => o.partition === partition);
  const out: LogRecord[] = [];
  let offset = range!.start;
  for (;;) {
    const batch = await log.read(topic, partition, offset, 1000);
    if (batch.length === 0) return out;
    out.push(...batch);
    offset = batch[batch.length - 1]!.offset + 1;
  }
}

describe('EmbeddedLog', () => {
  test('data, topics and committed offsets survive close and reopen', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const first = await EmbeddedLog.open(dir, { maintenanceIntervalMs: 0 });
      await first.ensureTopic({ name: 'events', partitions: 2, retentionMs: 60_000 });
      await first.append('events', [
        { key: 'a', value: Buffer.from('1'), headers: { h: 'x' } },
        { key: 'b', value: null, timestamp: 42 },
      ]);
      await first.commitOffsets('g', [{ topic: 'events', partition: 1, offset: 1 }]);
      await first.close();

      const second = await EmbeddedLog.open(dir, { maintenanceIntervalMs: 0 });
      try {
        assert.deepEqual(await second.describeTopic('events'), {
          name: 'events',
          partitions: 2,
          compacted: false,
        });
        assert.deepEqual([...(await second.committedOffsets('g', 'events'))], [[1, 1]]);
        const a = await readAll(second, 'events', partitionForKey('a', 2));
        const b = await readAll(second, 'events', partitionForKey('b', 2));
        assert.equal(a.find((r) => r.key === 'a')!.value!.toString(), '1');
        assert.deepEqual(a.find((r) => r.key === 'a')!.headers, { h: 'x' });
        assert.equal(b.find((r) => r.key === 'b')!.value, null);
        assert.equal(b.find((r) => r.key === 'b')!.timestamp, 42);
        assert.deepEqual(second.warnings, []);
      } finally {
        await second.close();
      }
    } finally {
      await cleanup();
    }
  });

  test('null keys go round-robin; compacted topics refuse them', async () => {
    await withLog({}, async (log) => {
      await log.ensureTopic({ name: 'rr', partitions: 3 });
      const acks = await log.append(
        'rr',
        Array.from({ length: 6 }, (_, i) => ({ key: null, value: Buffer.from(String(i)) })),
      );
      assert.deepEqual(
        acks.map((a) => [a.partition, a.count]),
        [
          [0, 2],
          [1, 2],
          [2, 2],
        ],
      );
      await log.ensureTopic({ name: 'table', partitions: 1, compacted: true });
      await assert.rejects(log.append('table', [{ key: null, value: Buffer.from('x') }]), TopicError);
    });
  });

  test('non-ASCII keys hash to the same partitions as partitionForKey', async () => {
    await withLog({}, async (log) => {
      await log.ensureTopic({ name: 'uni', partitions: 7 });
      const keys = Array.from({ length: 50 }, (_, i) => (i % 2 ? `ü-${i}-日本` : `😀${i}`));
      for (const key of keys) {
        const [ack] = await log.append('uni', [{ key, value: Buffer.from(key) }]);
        assert.equal(ack!.partition, partitionForKey(key, 7), key);
        assert.equal((await log.read('uni', ack!.partition, ack!.baseOffset, 1))[0]!.key, key);
      }
    });
  });

  test('bad arguments fail with the right error classes', async () => {
    await withLog({}, async (log) => {
      await log.ensureTopic({ name: 't', partitions: 2 });
      await log.append('t', [{ key: 'k', value: Buffer.from('v'), partition: 0 }]);
      await assert.rejects(
        log.append('t', [{ key: 'k', value: Buffer.from('v'), partition: 2 }]),
        TopicError,
      );
      await assert.rejects(log.read('t', 0, 2, 10), OffsetOutOfRangeError);
      await assert.rejects(log.read('t', 5, 0, 10), TopicError);
      await assert.rejects(log.ensureTopic({ name: 'bad/name', partitions: 1 }), TopicError);
      await assert.rejects(log.ensureTopic({ name: 't', partitions: 2, compacted: true }), TopicError);
      const consumer = await log.consumer({ topics: ['t'] });
      await assert.rejects(consumer.commit(), LogUsageError);
      assert.throws(() => consumer.seek('t', 0, 5), OffsetOutOfRangeError);
      assert.throws(() => consumer.seek('other', 0, 0), LogUsageError);
      await consumer.close();
      await assert.rejects(consumer.poll(), LogUsageError);
    });
  });

  test('concurrent appends get distinct contiguous offsets in call order', async () => {
    await withLog({}, async (log) => {
      await log.ensureTopic({ name: 'c', partitions: 1 });
      const calls = Array.from({ length: 20 }, (_, i) =>
        log.append(
          'c',
          Array.from({ length: 1 + (i % 5) }, (_, j) => ({ key: `${i}`, value: Buffer.from(`${i}.${j}`) })),
        ),
      );
      const acks = (await Promise.all(calls)).map((a) => a[0]!);
      let expected = 0;
      for (const [i, ack] of acks.entries()) {
        assert.equal(ack.baseOffset, expected, `call ${i}`);
        expected += ack.count;
      }
      const all = await readAll(log, 'c', 0);
      assert.equal(all.length, expected);
      assert.deepEqual(
        all.slice(0, 3).map((r) => r.value!.toString()),
        ['0.0', '1.0', '1.1'],
      );
    });
  });

  test('reads and timestamp lookups stay correct across many segments and index entries', async () => {
    await withLog({ segmentBytes: 4096, indexIntervalBytes: 256 }, async (log) => {
      await log.ensureTopic({ name: 's', partitions: 1 });
      let n = 0;
      for (let call = 0; call < 60; call++) {
        const count = 1 + (call % 9);
        // Timestamps go down now and then, as event time does.
        await log.append(
          's',
          Array.from({ length: count }, () => ({
            key: `k${n}`,
            value: Buffer.alloc(40, n % 256),
            timestamp: 1000 + n++ * 10 - (call % 4 === 3 ? 500 : 0),
          })),
        );
      }
      for (const offset of [0, 1, 17, 100, n - 2, n - 1]) {
        const [r] = await log.read('s', 0, offset, 1);
        assert.equal(r!.offset, offset);
        assert.equal(r!.key, `k${offset}`);
      }
      const all = await readAll(log, 's', 0);
      assert.equal(all.length, n);
      for (const ts of [0, 1000, 1234, 1500, 2000, 2999, 99_999]) {
        const expected = all.find((r) => r.timestamp >= ts)?.offset ?? n;
        assert.equal(await log.offsetForTimestamp('s', 0, ts), expected, `timestamp ${ts}`);
      }
    });
  });

  test("fsync 'always' acknowledges after fdatasync and reads back", async () => {
    await withLog({ fsync: 'always' }, async (log) => {
      await log.ensureTopic({ name: 'f', partitions: 1 });
      const [ack] = await log.append('f', [{ key: 'k', value: Buffer.from('durable') }]);
      assert.equal(ack!.baseOffset, 0);
      assert.equal((await log.read('f', 0, 0, 1))[0]!.value!.toString(), 'durable');
    });
  });

  test('a closed log refuses work', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const log = await EmbeddedLog.open(dir, { maintenanceIntervalMs: 0 });
      await log.ensureTopic({ name: 't', partitions: 1 });
      const consumer = await log.consumer({ topics: ['t'] });
      const waiting = consumer.poll({ timeoutMs: 10_000 });
      const started = Date.now();
      await log.close();
      assert.deepEqual(await waiting, [], 'a poll waiting on the tail ends empty when the log closes');
      assert.ok(Date.now() - started < 5_000);
      await assert.rejects(log.append('t', [{ key: 'k', value: null }]), LogUsageError);
      await assert.rejects(log.offsets('t'), LogUsageError);
    } finally {
      await cleanup();
    }
  });

  test('a deleted topic is gone from disk and after reopening; a deletion a crash cut short finishes at open', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const log = await EmbeddedLog.open(dir, { maintenanceIntervalMs: 0 });
      await log.ensureTopic({ name: 'old', partitions: 2 });
      await log.ensureTopic({ name: 'kept', partitions: 1 });
      await log.append('old', [{ key: 'k', value: Buffer.from('v') }]);
      await log.commitOffsets('g', [
        { topic: 'old', partition: 0, offset: 1 },
        { topic: 'kept', partition: 0, offset: 0 },
      ]);
      await log.deleteTopics(['old']);
      assert.deepEqual(await readdir(join(dir, 'topics')), ['kept']);
      assert.deepEqual(await readdir(join(dir, 'deleted')), []);
      await log.close();

      // What a crash right after the rename leaves: the topic's files under deleted/.
      await mkdir(join(dir, 'deleted', 'crashed.1.1', '0'), { recursive: true });
      await writeFile(join(dir, 'deleted', 'crashed.1.1', '0', '00000000000000000000.log'), 'junk');
      const reopened = await EmbeddedLog.open(dir, { maintenanceIntervalMs: 0 });
      try {
        assert.deepEqual(
          (await reopened.topics()).map((t) => t.name),
          ['kept'],
        );
        assert.deepEqual([...(await reopened.committedOffsets('g', 'old'))], []);
        assert.deepEqual([...(await reopened.committedOffsets('g', 'kept'))], [[0, 0]]);
        assert.equal(existsSync(join(dir, 'deleted')), false);
      } finally {
        await reopened.close();
      }
    } finally {
      await cleanup();
    }
  });

  test('a read-only log refuses to delete topics; a follower keeps reading a topic deleted under it', async () => {
    await withLog({}, async (log, dir) => {
      await log.ensureTopic({ name: 'gone', partitions: 1 });
      await log.append('gone', [{ key: 'k', value: Buffer.from('v') }]);
      const follower = await EmbeddedLog.open(dir, { readOnly: true });
      try {
        await assert.rejects(follower.deleteTopics(['gone']), LogUsageError);
        assert.equal((await follower.read('gone', 0, 0, 10)).length, 1);
        await log.deleteTopics(['gone']);
        assert.equal((await follower.read('gone', 0, 0, 10)).length, 1, 'what it had read stays readable');
        assert.deepEqual(await follower.read('gone', 0, 1, 10), [], 'and nothing more arrives');
      } finally {
        await follower.close();
      }
    });
  });
});
