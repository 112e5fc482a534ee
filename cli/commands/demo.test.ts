/**
 * `recstream demo` as a person runs it first: a child process on a fresh
 * data dir; the simulated world's topics are there afterwards and u0 has
 * state.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../test/cli.js';

async function topicsOf(data: string): Promise<{ topic: string; records: number }[]> {
  const run = await runCli(['topics', '--json', '--data-dir', data]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout);
}

test('recstream demo streams the simulated world through every application and shows u0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-demo-cli-'));
  try {
    const data = join(dir, 'data');
    const run = await runCli([
      'demo',
      '--events',
      '3000',
      '--users',
      '300',
      '--items',
      '80',
      '--data-dir',
      data,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /users u0…u299, items i0…i79/);
    const counts = /u0's interaction counts: (.*)/.exec(run.stdout);
    assert.ok(counts, run.stdout);
    assert.ok(JSON.parse(counts[1]!).total > 0, 'u0 is an active user');
    assert.match(run.stderr, /"msg":"progress","task":"demo"/);
    const topics = await topicsOf(data);
    const records = Object.fromEntries(topics.map((t) => [t.topic, t.records]));
    assert.equal(records['rec.interactions'], 3000);
    assert.equal(records['rec.users'], 300);
    assert.ok(records['rec.items']! >= 80);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
