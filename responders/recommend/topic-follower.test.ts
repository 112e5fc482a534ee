/**
 * The follower the responder reads its topics with, over a real embedded
 * log: what is there before `ready`, what is appended after, a topic that
 * appears later, and failures before and after `ready`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogRecord } from '../../runtime/log/log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { withScratchLog } from '../../test/platform.js';
import { TopicFollower } from './topic-follower.js';

const until = async (check: () => boolean) => {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

test('a follower hands over what the topic held before ready, then what is appended, in offset order', async () => {
  await withScratchLog('recstream-follower-', async ({ log }) => {
    await log.ensureTopic({ name: 't', partitions: 2 });
    await log.append('t', [
      { key: 'a', value: Buffer.from('1'), partition: 0 },
      { key: 'b', value: Buffer.from('2'), partition: 1 },
      { key: 'a', value: Buffer.from('3'), partition: 0 },
    ]);
    const seen: LogRecord[] = [];
    const follower = TopicFollower.start({
      log,
      topic: 't',
      logger: silentLogger(),
      pollMs: 5,
      onRecords: (r) => void seen.push(...r),
    });
    await follower.ready;
    assert.equal(seen.length, 3, 'everything present at start is handed over before ready');
    assert.deepEqual(
      seen.filter((r) => r.partition === 0).map((r) => r.value!.toString()),
      ['1', '3'],
    );
    await log.append('t', [{ key: 'b', value: Buffer.from('4'), partition: 1 }]);
    await until(() => seen.length === 4);
    assert.equal(seen[3]!.offset, 1);
    await follower.close();
  });
});

test('a topic that does not exist yet is caught up at once and followed once created', async () => {
  await withScratchLog('recstream-follower-', async ({ log }) => {
    const seen: string[] = [];
    const follower = TopicFollower.start({
      log,
      topic: 'later',
      logger: silentLogger(),
      pollMs: 5,
      onRecords: (r) => void seen.push(...r.map((x) => x.value!.toString())),
    });
    await follower.ready;
    await log.ensureTopic({ name: 'later', partitions: 1 });
    await log.append('later', [{ key: null, value: Buffer.from('x') }]);
    await until(() => seen.length === 1);
    await follower.close();
  });
});

test('a handler that fails after ready is retried from the same position; the follower goes on', async () => {
  await withScratchLog('recstream-follower-', async ({ log }) => {
    await log.ensureTopic({ name: 't', partitions: 1 });
    let failures = 1;
    const seen: string[] = [];
    const follower = TopicFollower.start({
      log,
      topic: 't',
      logger: silentLogger(),
      pollMs: 5,
      onRecords: (records) => {
        if (failures-- > 0) throw new Error('store down');
        seen.push(...records.map((r) => r.value!.toString()));
      },
    });
    await follower.ready;
    await log.append('t', [{ key: null, value: Buffer.from('y') }]);
    await until(() => seen.length === 1);
    assert.deepEqual(seen, ['y']);
    await follower.close();
  });
});

test('a failure before ready rejects ready', async () => {
  await withScratchLog('recstream-follower-', async ({ log }) => {
    await log.ensureTopic({ name: 't', partitions: 1 });
    await log.append('t', [{ key: null, value: Buffer.from('z') }]);
    const follower = TopicFollower.start({
      log,
      topic: 't',
      logger: silentLogger(),
      onRecords: () => {
        throw new Error('cannot apply');
      },
    });
    await assert.rejects(follower.ready, /cannot apply/);
    await follower.close();
  });
});
