/**
 * `recstream simulate` as an operator runs it: a child process on a data
 * dir, then `topics` to see what landed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { finished, runCli, startCli } from '../../test/cli.js';

async function topicsOf(data: string): Promise<{ topic: string; records: number }[]> {
  const run = await runCli(['topics', '--json', '--data-dir', data]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-simulate-cli-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const WORLD = ['--users', '300', '--items', '80', '--days', '3'];

test('recstream simulate writes items, users and interactions, reports as JSON, and writes the truth', async () => {
  await withDir(async (dir) => {
    const data = join(dir, 'data');
    const truth = join(dir, 'truth.jsonl');
    const run = await runCli([
      'simulate',
      ...WORLD,
      '--events',
      '3000',
      '--json',
      '--truth',
      truth,
      '--truth-top',
      '3',
      '--data-dir',
      data,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.events, 3000);
    assert.equal(report.users, 300);
    assert.ok(report.items >= 80, 'every item, plus the updates of items going unavailable');
    assert.equal(report.stopped, false);
    assert.match(run.stderr, /"msg":"progress","task":"simulate"/);

    const topics = await topicsOf(data);
    const records = Object.fromEntries(topics.map((t) => [t.topic, t.records]));
    assert.deepEqual(records, { 'rec.interactions': 3000, 'rec.items': report.items, 'rec.users': 300 });

    const lines = (await readFile(truth, 'utf8')).trim().split('\n');
    assert.equal(JSON.parse(lines[0]!).format, 'recstream-truth/1');
    assert.equal(lines.length, 1 + 80 + 300);
    assert.equal(JSON.parse(lines[lines.length - 1]!).top.length, 3);
  });
});

test('bad options fail with a message naming the option, and write nothing', async () => {
  await withDir(async (dir) => {
    const data = join(dir, 'data');
    for (const [args, named] of [
      [['--users', 'many'], '--users'],
      [['--rate=-5'], '--rate'],
      [['--start', 'yesterday'], '--start'],
      [['--truth-top', '5'], '--truth'],
      [['--days', '0'], '--days'],
    ] as const) {
      const run = await runCli(['simulate', ...args, '--data-dir', data]);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
      assert.ok(run.stderr.includes(named), `${args.join(' ')}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /unexpected failure/);
    }
    assert.deepEqual(await topicsOf(data), []);
  });
});

test('a streaming run stops cleanly on SIGINT with what it wrote so far', async () => {
  await withDir(async (dir) => {
    const data = join(dir, 'data');
    const child = startCli([
      'simulate',
      ...WORLD,
      '--rate',
      '200',
      '--events',
      '1000000',
      '--json',
      '--data-dir',
      data,
    ]);
    const done = finished(child);
    // The first progress line means events are flowing on the real clock.
    await new Promise<void>((resolve) => {
      child.stderr!.on('data', (d: Buffer) => {
        if (d.toString().includes('"task":"simulate"')) resolve();
      });
    });
    child.kill('SIGINT');
    const run = await done;
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.stopped, true);
    assert.ok(report.events > 0 && report.events < 1_000_000);
    const topics = await topicsOf(data);
    assert.equal(topics.find((t) => t.topic === 'rec.interactions')?.records, report.events);
  });
});
