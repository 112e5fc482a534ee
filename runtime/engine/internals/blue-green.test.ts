/**
 * Blue/green beside a running instance, on a word count with a repartition
 * through an internal topic: lines keep arriving during the build and the
 * swap; no output may be lost at the cut (every `word=n` appears), green's
 * stores equal a fresh build, and blue's state dir is gone.
 */
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PLATFORM_TOPICS } from '../../../schemas/topics.js';
import { EmbeddedLog } from '../../log/embedded/embedded-log.js';
import { silentLogger } from '../../observability/logger.js';
import { Registry, runtimeMetrics } from '../../observability/metrics.js';
import { jsonLetters, wordCount } from '../../processor/word-count.fixture.js';
import { optionsInNamespace } from '../namespace.js';
import { type RunnerOptions, StreamRunner } from '../runner.js';
import { RunningApplication } from '../running-application.js';
import { blueGreenAlone } from './blue-green.js';

const WORDS = ['ant', 'bee', 'cat', 'dog', 'eel', 'fox', 'gnu', 'hen', 'ibis', 'jay', 'kiwi', 'lynx'];

/** Seeded lines of three words; `counts` tallies every word written. */
class Lines {
  private n = 0;
  readonly counts = new Map<string, number>();
  next(count: number): { key: string; value: Buffer }[] {
    const out = [];
    for (let i = 0; i < count; i++, this.n++) {
      const words = [0, 1, 2].map((k) => WORDS[(this.n * 7 + k * 5 + (this.n >> 3)) % WORDS.length]!);
      for (const w of words) this.counts.set(w, (this.counts.get(w) ?? 0) + 1);
      out.push({ key: `line-${this.n}`, value: Buffer.from(words.join(' ')) });
    }
    return out;
  }
  /** Every output a correct run emits at least once: `word=1` … `word=count`. */
  expectedOutputs(): Set<string> {
    const out = new Set<string>();
    for (const [w, c] of this.counts) for (let n = 1; n <= c; n++) out.add(`${w}=${n}`);
    return out;
  }
}

async function outputs(log: EmbeddedLog): Promise<{ distinct: Set<string>; total: number }> {
  const distinct = new Set<string>();
  let total = 0;
  for (const p of await log.offsets('rec.word-counts')) {
    for (let offset = p.start; offset < p.end; ) {
      const batch = await log.read('rec.word-counts', p.partition, offset, 1000);
      for (const r of batch) distinct.add(r.value!.toString());
      total += batch.length;
      offset = batch.at(-1)!.offset + 1;
    }
  }
  return { distinct, total };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function setUp(dir: string): Promise<{ log: EmbeddedLog; base: RunnerOptions }> {
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  await log.ensureTopic({ name: 'rec.lines', partitions: 3 });
  const base: RunnerOptions = {
    topology: wordCount(),
    log,
    stateDir: join(dir, 'state', 'word-count'),
    engine: 'rocksdb',
    deadLetters: jsonLetters,
    topics: PLATFORM_TOPICS,
    logger: silentLogger(),
    commitIntervalMs: 20,
    maxPollRecords: 50,
  };
  return { log, base };
}

async function digestOf(options: RunnerOptions): Promise<Record<string, string>> {
  const runner = await StreamRunner.start(options);
  try {
    return await runner.digest();
  } finally {
    await runner.close();
  }
}

test('blue/green beside a running instance under live input: no output lost at the cut, green equals a fresh build', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-blue-green-'));
  const { log, base } = await setUp(dir);
  try {
    const lines = new Lines();
    await log.append('rec.lines', lines.next(3000));
    await (await StreamRunner.start(base)).runUntilCaughtUp();
    // Blue spends 4 ms per line, a little less than the input rate: green overtakes it before the cut.
    const metrics = runtimeMetrics(new Registry());
    const measured: RunnerOptions = { ...base, metrics };
    const slowBlue = await StreamRunner.start({ ...measured, topology: wordCount(4) });
    const app = new RunningApplication(slowBlue, measured, undefined);
    const storeGauges = async () =>
      (await metrics.storeEntries.get()).values
        .map((v) => `${v.labels.namespace}/${v.labels.partition}`)
        .sort();
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await log.append('rec.lines', lines.next(5));
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const seen: [number, number][] = [];
    let swappedWhileBlueRan = false;
    let gaugesAtSwap: string[] = [];
    const blue = app.runner;
    const { records } = await app.blueGreen('g1', {
      onProgress: (done, total) => seen.push([done, total]),
      onSwap: async (green) => {
        swappedWhileBlueRan = app.runner === blue && green !== blue;
        gaugesAtSwap = await storeGauges();
      },
    });
    // Both instances report, apart, while both run; the retired one's gauges go with it.
    const byNamespace = (ns: string) => [0, 1, 2].map((p) => `${ns}/${p}`);
    assert.deepEqual(gaugesAtSwap, [...byNamespace('default'), ...byNamespace('g1')]);
    assert.deepEqual(await storeGauges(), byNamespace('g1'));
    assert.ok(swappedWhileBlueRan, 'onSwap runs before blue is retired');
    assert.equal(app.namespace, 'g1');
    assert.notEqual(app.runner, blue);
    assert.ok(records >= 3000 * 1, `rebuilt ${records} input records`);
    assert.ok(seen.length > 0 && seen.every(([d, t]) => d <= t && t === records));
    assert.equal(seen.at(-1)![0], records);
    assert.equal(await exists(base.stateDir), false, "blue's state dir is deleted");
    assert.equal(await exists(`${base.stateDir}@g1`), true);

    await new Promise((r) => setTimeout(r, 300));
    writing = false;
    await writer;
    while (!(await app.runner.drained())) await new Promise((r) => setTimeout(r, 20));
    app.stop();
    await app.finished();

    const { distinct, total } = await outputs(log);
    const expected = lines.expectedOutputs();
    const missing = [...expected].filter((o) => !distinct.has(o));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} outputs lost of ${expected.size}`);
    assert.equal(distinct.size, expected.size, 'no output that a correct run would not emit');
    // Muted while rebuilding: history is not emitted twice (only the handover window may repeat).
    assert.ok(total < expected.size * 1.5, `${total} outputs for ${expected.size} distinct`);

    const green = await digestOf(optionsInNamespace(base, 'g1'));
    const fresh = optionsInNamespace(base, 'fresh');
    await (await StreamRunner.start(fresh)).runUntilCaughtUp();
    assert.deepEqual(green, await digestOf(fresh));
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('blue/green alone: green rebuilds muted, blue catches up and covers every output, then green resumes', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-blue-green-alone-'));
  const { log, base } = await setUp(dir);
  try {
    const lines = new Lines();
    await log.append('rec.lines', lines.next(1000));
    await (await StreamRunner.start(base)).runUntilCaughtUp();
    // Blue is behind when the rebuild starts: these lines' outputs must come from blue, not be muted away.
    await log.append('rec.lines', lines.next(500));
    let last: [number, number] = [0, 0];
    const result = await blueGreenAlone(base, optionsInNamespace(base, 'g2'), (done, total) => {
      last = [done, total];
    });
    assert.equal(result.records, 1500);
    assert.deepEqual(last, [1500, 1500]);
    assert.equal(result.blue.processed >= 500, true);
    await log.append('rec.lines', lines.next(200));
    await (await StreamRunner.start(optionsInNamespace(base, 'g2'))).runUntilCaughtUp();

    const { distinct, total } = await outputs(log);
    assert.deepEqual(distinct, lines.expectedOutputs());
    assert.equal(total, distinct.size, 'alone, nothing is emitted twice');
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
