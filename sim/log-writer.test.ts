import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, RecstreamError } from '../runtime/errors.js';
import { EmbeddedLog } from '../runtime/log/embedded/embedded-log.js';
import { partitionForKey } from '../runtime/log/partitioner.js';
import { openEmbeddedRegistry } from '../runtime/registry/embedded/embedded-registry.js';
import type { Interaction } from '../schemas/generated/types.js';
import { platformSerde } from '../schemas/platform.js';
import { INTERACTIONS_TOPIC, ITEMS_TOPIC, USERS_TOPIC } from '../schemas/topics.js';
import { type SimulationTarget, type WriteProgress, writeSimulation } from './log-writer.js';
import { Simulator } from './simulator.js';
import { topicDigests } from './testing.js';

const TOPICS = [ITEMS_TOPIC, USERS_TOPIC, INTERACTIONS_TOPIC];
const OPTIONS = { seed: 21, users: 600, items: 200, events: 12_000, days: 7 };
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-sim-'));
  dirs.push(dir);
  return dir;
}

/** The embedded log and registry of a data dir, as a simulation target. */
async function withTarget<T>(dir: string, fn: (target: SimulationTarget) => Promise<T>): Promise<T> {
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  const registry = await openEmbeddedRegistry({ dataDir: dir });
  try {
    return await fn({ log, serde: platformSerde(registry), registry: { dataDir: dir } });
  } finally {
    await registry.close();
    await log.close();
  }
}

/** Simulates into a fresh data dir (embedded log and registry); returns the dir and the topics' digests. */
async function simulateInto(
  options: typeof OPTIONS,
): Promise<{ dir: string; digests: Record<string, string> }> {
  const dir = await dataDir();
  const digests = await withTarget(dir, async (target) => {
    const summary = await writeSimulation(options, target, { partitions: 3 });
    assert.equal(summary.interactions, options.events);
    assert.equal(summary.stopped, false);
    return topicDigests(target.log, TOPICS);
  });
  return { dir, digests };
}

test('the same seed gives byte-identical topics; another seed does not', async () => {
  const first = await simulateInto(OPTIONS);
  const second = await simulateInto(OPTIONS);
  assert.deepEqual(second.digests, first.digests);
  const other = await simulateInto({ ...OPTIONS, seed: OPTIONS.seed + 1 });
  for (const topic of TOPICS) assert.notEqual(other.digests[topic], first.digests[topic], topic);
});

test('the log holds exactly the simulated records, Avro-encoded, keyed and partitioned by id', async () => {
  const dir = await dataDir();
  const expected = new Map<string, string>();
  for (const r of new Simulator(OPTIONS).records())
    expected.set(`${r.topic}/${r.key}/${r.ts}/${JSON.stringify(r.value)}`, r.topic);
  await withTarget(dir, async (target) => {
    const { log, serde } = target;
    await writeSimulation(OPTIONS, target, { partitions: 3, batchSize: 777 });
    let seen = 0;
    for (const topic of TOPICS) {
      const decoder = await serde.decoder(`${topic}-value`);
      for (const { partition, end } of await log.offsets(topic)) {
        for (const r of await log.read(topic, partition, 0, end)) {
          assert.equal(r.partition, partitionForKey(r.key!, 3));
          const value = await decoder.decode(r.value!);
          const key = `${topic}/${r.key}/${r.timestamp}/${JSON.stringify(value)}`;
          assert.equal(expected.get(key), topic, `unexpected record ${key.slice(0, 200)}`);
          expected.delete(key);
          seen++;
        }
      }
    }
    assert.equal(expected.size, 0, `${expected.size} simulated records missing from the log`);
    assert.ok(seen > OPTIONS.events);
  });
});

test('streaming mode appends records no earlier than their event time, on the real clock', async () => {
  const dir = await dataDir();
  const start = Date.now();
  const checks: { appendedAt: number; progress: WriteProgress }[] = [];
  const summary = await withTarget(dir, (target) =>
    writeSimulation({ ...OPTIONS, events: 300, rate: 1000, start }, target, {
      partitions: 2,
      realTime: true,
      onProgress: (progress) => checks.push({ appendedAt: Date.now(), progress }),
    }),
  );
  const finished = Date.now();
  assert.equal(summary.interactions, 300);
  assert.ok(checks.length > 1, 'streamed in several appends');
  for (const { appendedAt, progress } of checks)
    assert.ok(appendedAt >= progress.lastTs, 'appended before its time');
  assert.ok(
    summary.lastTs >= start && summary.lastTs <= finished,
    'event times are wall-clock times of the run',
  );
});

test('a stop request ends the run after the batch in flight', async () => {
  const dir = await dataDir();
  const stop = new AbortController();
  const summary = await withTarget(dir, (target) =>
    writeSimulation({ ...OPTIONS, events: 1_000_000 }, target, {
      partitions: 2,
      batchSize: 1000,
      signal: stop.signal,
      onProgress: () => stop.abort(),
    }),
  );
  assert.equal(summary.stopped, true);
  assert.ok(summary.interactions <= 1000, `${summary.interactions} interactions after stopping`);
  const written = await withTarget(dir, async ({ log }) =>
    (await log.offsets(INTERACTIONS_TOPIC)).reduce((n, p) => n + p.end, 0),
  );
  assert.equal(written, summary.interactions);
});

test('bad options are refused, naming the option, before anything is written', async () => {
  const dir = await dataDir();
  await withTarget(dir, async (target) => {
    await assert.rejects(
      writeSimulation({ ...OPTIONS, users: 0 }, target, { partitions: 2 }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('--users'),
    );
    assert.deepEqual(await target.log.topics(), []);
  });
});

test("a failure in the worker (here: its registry cannot be reached) is the run's error, not a hang", async () => {
  const dir = await dataDir();
  await withTarget(dir, async (target) => {
    await assert.rejects(
      writeSimulation(
        OPTIONS,
        { ...target, registry: { dataDir: dir, url: 'http://127.0.0.1:9/' } },
        { partitions: 2 },
      ),
      (e: unknown) => e instanceof RecstreamError && e.code === 'CONNECTION_FAILED' && e.retriable,
    );
    const written = (await target.log.offsets(INTERACTIONS_TOPIC)).reduce((n, p) => n + p.end, 0);
    assert.equal(written, 0);
  });
});

test('a live simulation writes its span at once, then goes on at the clock; resumed, it goes on after what is written', async () => {
  const dir = await dataDir();
  const options = { ...OPTIONS, events: 2_000, liveRate: 400 };
  const history = new Simulator(options).historyEnd();
  await withTarget(dir, async (target) => {
    const { log, serde } = target;
    const run = async (resumeAfter: number, live: number) => {
      const stop = new AbortController();
      const started = Date.now();
      const summary = await writeSimulation(options, target, {
        partitions: 3,
        resumeAfter,
        shift: started - history,
        signal: stop.signal,
        onProgress: (p) => {
          if (resumeAfter + p.interactions >= Math.max(options.events, resumeAfter) + live) stop.abort();
        },
      });
      assert.equal(summary.stopped, true);
      return { summary, started, seconds: (Date.now() - started) / 1000 };
    };
    const first = await run(0, 600);
    const written = first.summary.interactions;
    assert.ok(written >= options.events + 600);
    const second = await run(written, 600);
    const decoder = await serde.decoder('rec.interactions-value');
    const ids = new Set<string>();
    let beforeSecond = 0;
    for (const { partition, end } of await log.offsets(INTERACTIONS_TOPIC))
      for (const r of await log.read(INTERACTIONS_TOPIC, partition, 0, end)) {
        const e = (await decoder.decode(r.value!)) as Interaction;
        assert.equal(r.timestamp, e.ts);
        assert.ok(e.ts <= Date.now() + 200, 'no record ahead of the clock by more than a batch');
        if (e.ts < second.started) beforeSecond++;
        assert.ok(!ids.has(e.event_id), `${e.event_id} written twice`);
        ids.add(e.event_id);
      }
    const prefix = new Simulator(options).idPrefix;
    const total = written + second.summary.interactions;
    assert.equal(ids.size, total);
    for (let n = 0; n < total; n++) assert.ok(ids.has(`${prefix}e${n}`), `e${n} is missing`);
    assert.equal(beforeSecond, written, 'the resumed run starts at its own clock');
    // The live phase is paced: 600 events at a mean of 400/s take a second or more, not milliseconds.
    assert.ok(second.seconds > 0.5, `600 live events took ${second.seconds} s`);
  });
});
