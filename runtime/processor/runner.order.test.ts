/**
 * A task reads its source partitions in record-timestamp order, whatever
 * order the consumer fetches them in (internals/partition-group.ts), on the
 * embedded log.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedLog } from '../log/embedded/embedded-log.js';
import { silentLogger } from '../observability/logger.js';
import { sleep } from '../retry.js';
import type { Processor } from './processor.js';
import { StreamRunner } from './runner.js';
import { type Topology, TopologyBuilder } from './topology.js';
import { jsonLetters, text, textOut } from './word-count.fixture.js';

const PER_TOPIC = 60;

/** Two source topics into one processor that notes each value as it sees it. */
function recording(seen: string[]): Topology {
  const note = (): Processor<string, string> => ({
    process(record) {
      seen.push(record.value);
    },
  });
  return new TopologyBuilder('ordering')
    .addSource('a', ['rec.order-a'], text)
    .addSource('b', ['rec.order-b'], text)
    .addProcessor('note', note, ['a', 'b'])
    .addSink('out', 'rec.order-out', textOut, ['note'])
    .build();
}

async function withLog(body: (log: EmbeddedLog, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-order-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    for (const name of ['rec.order-a', 'rec.order-b', 'rec.order-out'])
      await log.ensureTopic({ name, partitions: 1 });
    await body(log, dir);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** All of topic a (odd timestamps), then all of b (even ones): a fetch reads one topic far ahead. */
async function writeApart(log: EmbeddedLog): Promise<string[]> {
  const a = Array.from({ length: PER_TOPIC }, (_, i) => ({ key: 'k', value: `a${i}`, timestamp: 2 * i + 1 }));
  const b = Array.from({ length: PER_TOPIC }, (_, i) => ({ key: 'k', value: `b${i}`, timestamp: 2 * i + 2 }));
  await log.append(
    'rec.order-a',
    a.map((r) => ({ ...r, value: Buffer.from(r.value) })),
  );
  await log.append(
    'rec.order-b',
    b.map((r) => ({ ...r, value: Buffer.from(r.value) })),
  );
  return [...a, ...b].sort((x, y) => x.timestamp - y.timestamp).map((r) => r.value);
}

async function catchUp(log: EmbeddedLog, dir: string, seen: string[], maxTaskIdleMs?: number) {
  const runner = await StreamRunner.start({
    topology: recording(seen),
    log,
    stateDir: join(dir, `state${maxTaskIdleMs ?? ''}`),
    engine: 'memory',
    deadLetters: jsonLetters,
    logger: silentLogger(),
    // Small polls: the consumer returns ten records of one topic at a time, and a full queue pauses.
    maxPollRecords: 10,
    ...(maxTaskIdleMs === undefined ? {} : { maxTaskIdleMs }),
  });
  return runner.runUntilCaughtUp();
}

test('a task processes the records of its source topics in timestamp order, not fetch order', async () => {
  await withLog(async (log, dir) => {
    const inTime = await writeApart(log);
    const seen: string[] = [];
    const stats = await catchUp(log, dir, seen);
    assert.equal(stats.processed, 2 * PER_TOPIC);
    assert.deepEqual(seen, inTime);
  });
});

test('with RECSTREAM_MAX_TASK_IDLE_MS=-1 records are processed in the order they are fetched', async () => {
  await withLog(async (log, dir) => {
    const inTime = await writeApart(log);
    const seen: string[] = [];
    const stats = await catchUp(log, dir, seen, -1);
    assert.equal(stats.processed, 2 * PER_TOPIC);
    assert.notDeepEqual(seen, inTime, 'ten of a, then ten of b: fetch order');
    assert.deepEqual(seen.slice(0, 10), inTime.filter((v) => v.startsWith('a')).slice(0, 10));
    assert.deepEqual(
      seen.filter((v) => v.startsWith('b')),
      inTime.filter((v) => v.startsWith('b')),
      'each topic keeps its own order',
    );
  });
});

test('a task waits up to the idle time for an empty source at its end, and takes an earlier record that comes', async () => {
  await withLog(async (log, dir) => {
    const seen: string[] = [];
    const runner = await StreamRunner.start({
      topology: recording(seen),
      log,
      stateDir: join(dir, 'state'),
      engine: 'memory',
      deadLetters: jsonLetters,
      logger: silentLogger(),
      maxTaskIdleMs: 60_000,
    });
    const running = runner.run();
    await log.append('rec.order-a', [{ key: 'k', value: Buffer.from('late'), timestamp: 20 }]);
    await sleep(300);
    assert.deepEqual(seen, [], 'b has nothing yet: a waits');
    await log.append('rec.order-b', [{ key: 'k', value: Buffer.from('early'), timestamp: 10 }]);
    for (let i = 0; i < 500 && seen.length < 1; i++) await sleep(10);
    assert.deepEqual(seen, ['early'], 'the earlier record of b goes first; a still has the later one');
    await log.append('rec.order-b', [{ key: 'k', value: Buffer.from('later'), timestamp: 30 }]);
    await log.append('rec.order-a', [{ key: 'k', value: Buffer.from('last'), timestamp: 40 }]);
    for (let i = 0; i < 500 && seen.length < 3; i++) await sleep(10);
    await sleep(300);
    assert.deepEqual(seen, ['early', 'late', 'later'], 'the last record waits for b again');
    runner.stop();
    await running;
  });
});
