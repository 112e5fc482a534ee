import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PLATFORM_TOPICS } from '../../schemas/topics.js';
import { EmbeddedLog } from '../log/embedded/embedded-log.js';
import type { EventLog, LogConsumer, TopicPartitionOffset } from '../log/log.js';
import { silentLogger } from '../observability/logger.js';
import { Registry, runtimeMetrics } from '../observability/metrics.js';
import { TopologyBuilder } from '../processor/topology.js';
import { jsonLetters, text, wordCount } from '../processor/word-count.fixture.js';
import { sleep } from '../retry.js';
import { StreamRunner } from './runner.js';

async function readAll(log: EmbeddedLog, topic: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of await log.offsets(topic)) {
    for (const r of await log.read(topic, p.partition, p.start, 10_000)) out.push(r.value!.toString());
  }
  return out.sort();
}

test('--once processes through an internal repartition topic, writes sinks, and reports metrics', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-runner-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.lines', partitions: 2 });
    await log.append('rec.lines', [
      { key: 'a', value: Buffer.from('to be or not to be') },
      { key: 'b', value: Buffer.from('be quick') },
    ]);
    const registry = new Registry();
    const options = {
      topology: wordCount(),
      log,
      stateDir: join(dir, 'state'),
      engine: 'rocksdb' as const,
      deadLetters: jsonLetters,
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
      metrics: runtimeMetrics(registry),
    };
    const stats = await (await StreamRunner.start(options)).runUntilCaughtUp();
    assert.equal(stats.processed, 2 + 8, 'two lines, then eight words from the internal topic');
    assert.deepEqual(await readAll(log, 'rec.word-counts'), [
      'be=1',
      'be=2',
      'be=3',
      'not=1',
      'or=1',
      'quick=1',
      'to=1',
      'to=2',
    ]);

    const text = await registry.metrics();
    assert.match(
      text,
      /recstream_records_in_total\{application="word-count",namespace="default",topic="rec.lines"\} 2/,
    );
    assert.match(
      text,
      /recstream_records_in_total\{application="word-count",namespace="default",topic="rec.words-by-word"\} 8/,
    );
    assert.match(
      text,
      /recstream_records_out_total\{application="word-count",namespace="default",topic="rec.word-counts"\} 8/,
    );
    assert.match(text, /recstream_commits_total\{application="word-count",namespace="default"\} [1-9]/);

    const countedWords = async () =>
      (await options.metrics.storeEntries.get()).values
        .filter((v) => v.labels.store === 'word-counts')
        .reduce((n, v) => n + v.value, 0);
    assert.equal(await countedWords(), 5, 'to, be, or, not, quick');

    // A second run finds nothing new: the offsets were committed with the state.
    await log.append('rec.lines', [{ key: 'a', value: Buffer.from('quick zebra') }]);
    const again = await (await StreamRunner.start(options)).runUntilCaughtUp();
    assert.equal(again.processed, 3);
    assert.ok((await readAll(log, 'rec.word-counts')).includes('quick=2'));
    assert.equal(await countedWords(), 6, 'the store sizes follow the new word');

    // The local state lost: it is restored from the changelog, and the records replayed are counted.
    await rm(options.stateDir, { recursive: true, force: true });
    await (await StreamRunner.start(options)).runUntilCaughtUp();
    assert.match(
      await registry.metrics(),
      /recstream_restored_records_total\{application="word-count",namespace="default",store="word-counts"\} [1-9]/,
    );
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('runners of two partitions each catch up in rounds, staying open, until a round processes nothing anywhere', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-runner-rounds-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.lines', partitions: 2 });
    await log.append('rec.lines', [
      { key: 'a', value: Buffer.from('to be or not to be'), partition: 0 },
      { key: 'b', value: Buffer.from('be quick or be dead'), partition: 1 },
    ]);
    const options = (partition: number) => ({
      topology: wordCount(),
      log,
      stateDir: join(dir, 'state'),
      engine: 'rocksdb' as const,
      deadLetters: jsonLetters,
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
      partitions: [partition],
    });
    // As two stream threads would: each owns one task, and each task's words go to both.
    const runners = [await StreamRunner.start(options(0)), await StreamRunner.start(options(1))];
    const rounds: number[] = [];
    for (;;) {
      let processed = 0;
      for (const runner of runners) processed += (await runner.catchUp()).processed;
      rounds.push(processed);
      if (processed === 0) break;
    }
    for (const runner of runners) await runner.close();
    assert.ok(rounds.length >= 3, `rounds: ${rounds}`);
    assert.equal(
      rounds.reduce((a, b) => a + b, 0),
      2 + 11,
      'two lines and their eleven words, each once',
    );
    const counts = (await readAll(log, 'rec.word-counts')).filter((c) => /=(\d+)$/.test(c));
    for (const [word, n] of Object.entries({ to: 2, be: 4, or: 2, not: 1, quick: 1, dead: 1 }))
      assert.ok(counts.includes(`${word}=${n}`), `${word} counted ${n} times: ${counts}`);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('source topics with different partition counts are refused with both counts named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-runner-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.a', partitions: 2 });
    await log.ensureTopic({ name: 'rec.b', partitions: 3 });
    const topology = new TopologyBuilder('copart')
      .addSource('in', ['rec.a', 'rec.b'], text)
      .addProcessor('p', () => ({ process() {} }), ['in'])
      .build();
    await assert.rejects(
      StreamRunner.start({
        topology,
        log,
        stateDir: join(dir, 'state'),
        engine: 'memory',
        deadLetters: jsonLetters,
        topics: PLATFORM_TOPICS,
        logger: silentLogger(),
      }),
      /co-partitioned.*rec\.a=2, rec\.b=3/,
    );
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a running loop commits once its input goes idle, long before the commit interval', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-runner-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.lines', partitions: 2 });
    const start = (commitIdleMs: number, stateDir: string) =>
      StreamRunner.start({
        topology: wordCount(),
        log,
        stateDir: join(dir, stateDir),
        engine: 'memory',
        // A commit interval no test waits for: only the idle commit can write the sink.
        commitIntervalMs: 600_000,
        commitIdleMs,
        deadLetters: jsonLetters,
        topics: PLATFORM_TOPICS,
        logger: silentLogger(),
      });

    const waiting = await start(0, 'interval-only');
    const waited = waiting.run();
    await log.append('rec.lines', [{ key: 'a', value: Buffer.from('hello idle world') }]);
    // The words reach the internal topic only with a commit: the line is all there is to process.
    for (let i = 0; i < 1000 && waiting.progress().processed === 0; i++) await sleep(10);
    assert.equal(waiting.progress().processed, 1);
    await sleep(300);
    assert.equal(waiting.progress().commits, 0, 'with idle commits off, nothing commits before the interval');
    waiting.stop();
    await waited;

    // A fresh state reads the same line again from the earliest offset.
    const idle = await start(10, 'idle');
    const running = idle.run();
    for (let i = 0; i < 1000 && idle.progress().commits === 0; i++) await sleep(10);
    assert.ok(idle.progress().commits > 0, 'the idle loop committed its records');
    idle.stop();
    await running;
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** `log` with every group commit of its consumers recorded in `sent`, then passed on. */
function recordingGroupCommits(log: EventLog, sent: (readonly TopicPartitionOffset[])[]): EventLog {
  const consumer = async (options: Parameters<EventLog['consumer']>[0]): Promise<LogConsumer> => {
    const inner = await log.consumer(options);
    return {
      assignment: () => inner.assignment(),
      position: (topic, partition) => inner.position(topic, partition),
      seek: (topic, partition, offset) => inner.seek(topic, partition, offset),
      poll: (poll) => inner.poll(poll),
      commit: async (offsets) => {
        assert.ok(offsets, 'the runner commits explicit positions');
        sent.push(offsets);
        await inner.commit(offsets);
      },
      close: () => inner.close(),
    };
  };
  return new Proxy(log, {
    get: (target, property) => {
      if (property === 'consumer') return consumer;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

test('an idle loop sends no group commit; a commit sends only the positions that moved', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-runner-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  const sent: (readonly TopicPartitionOffset[])[] = [];
  let runner: StreamRunner | undefined;
  let running: Promise<unknown> | undefined;
  try {
    await log.ensureTopic({ name: 'rec.lines', partitions: 2 });
    runner = await StreamRunner.start({
      topology: wordCount(),
      log: recordingGroupCommits(log, sent),
      stateDir: join(dir, 'state'),
      engine: 'memory',
      commitIntervalMs: 10,
      deadLetters: jsonLetters,
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
    });
    const loop = runner;
    running = loop.run();
    const processed = async (count: number) => {
      for (let i = 0; i < 1000 && loop.progress().processed < count; i++) await sleep(10);
      assert.equal(loop.progress().processed, count);
    };
    await log.append('rec.lines', [{ key: 'a', value: Buffer.from('one line') }]);
    await processed(1 + 2);
    const quiet = async () => {
      await sleep(100);
      const before = { commits: loop.progress().commits, sent: sent.length };
      // An idle poll waits 100 ms, so the loop commits about every 100 ms.
      await sleep(600);
      assert.ok(loop.progress().commits >= before.commits + 3, 'the loop goes on committing its state');
      assert.equal(sent.length, before.sent, 'with nothing processed, no group commit is sent');
    };
    await quiet();
    await log.append('rec.lines', [{ key: 'b', value: Buffer.from('another line here') }]);
    await processed(1 + 2 + 1 + 3);
    await quiet();
    loop.stop();
    await running;

    const last = new Map<string, number>();
    for (const commit of sent) {
      assert.ok(commit.length > 0, 'an empty group commit is never sent');
      for (const p of commit) {
        const key = `${p.topic}:${p.partition}`;
        assert.notEqual(last.get(key), p.offset, `${key} is sent again only once it moved`);
        last.set(key, p.offset);
      }
    }
    for (const topic of ['rec.lines', 'rec.words-by-word']) {
      const ends = new Map((await log.offsets(topic)).map((p) => [p.partition, p.end]));
      assert.deepEqual(
        await log.committedOffsets('word-count', topic),
        ends,
        `${topic}: the group is at the end`,
      );
    }
  } finally {
    runner?.stop();
    await running?.catch(() => undefined);
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
