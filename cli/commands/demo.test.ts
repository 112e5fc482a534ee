/**
 * `recstream demo` as a person runs it first, on a shortened world: a
 * child process on a fresh data dir; its first model is promoted, it ends
 * up serving, prints u0's recommendations from that model and the curl to
 * ask for more, answers that curl with a personalised list, and stops
 * cleanly on Ctrl-C; the simulated world's topics are there afterwards and
 * u0 has state. Run again on that data dir, it resumes: serves the same
 * model without streaming the world again.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { finished, runCli, startCli } from '../../test/cli.js';

async function topicsOf(data: string): Promise<{ topic: string; records: number }[]> {
  const run = await runCli(['topics', '--json', '--data-dir', data]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout);
}

interface Served {
  readonly child: ChildProcess;
  readonly stdout: string;
  readonly url: string;
  readonly done: ReturnType<typeof finished>;
}

/** Starts the demo and waits until it says it serves. */
async function demoUntilServing(args: readonly string[]): Promise<Served> {
  const child = startCli(['demo', ...args], { RECSTREAM_HTTP_PORT: '0' });
  const done = finished(child);
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const deadline = Date.now() + 240_000;
  while (!stdout.includes('Ctrl-C stops') && child.exitCode === null && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const url = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
  if (url === undefined) child.kill('SIGKILL');
  assert.ok(url, stdout);
  return { child, stdout, url, done };
}

async function listFor(url: string, user: string) {
  const res = await fetch(`${url}/v1/recommendations/${user}?k=5`);
  assert.equal(res.status, 200);
  return (await res.json()) as {
    user_id: string;
    items: unknown[];
    model_version: string | null;
    fallback: string | null;
  };
}

test('recstream demo streams the simulated world through every application, serves, and shows u0; a second run resumes', {
  timeout: 400_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-demo-cli-'));
  const children: ChildProcess[] = [];
  try {
    const data = join(dir, 'data');
    // The default world, shortened: dense enough that the first model is promoted.
    const first = await demoUntilServing([
      '--events',
      '60000',
      '--users',
      '600',
      '--items',
      '120',
      '--data-dir',
      data,
    ]);
    children.push(first.child);
    assert.match(first.stdout, /recstream v1 promoted/);
    assert.match(first.stdout, /u0's recommendations from the responder \(recstream@1 with items@1\)/);
    assert.match(first.stdout, new RegExp(`curl '${first.url}/v1/recommendations/u1\\?k=5'`));
    const body = await listFor(first.url, 'u1');
    assert.equal(body.user_id, 'u1');
    assert.equal(body.items.length, 5);
    assert.equal(body.fallback, null, 'personalised');
    assert.equal(body.model_version, 'recstream@1');
    first.child.kill('SIGINT');
    const run = await first.done;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /users u0…u599, items i0…i119/);
    const counts = /u0's interaction counts: (.*)/.exec(run.stdout);
    assert.ok(counts, run.stdout);
    assert.ok(JSON.parse(counts[1]!).total > 0, 'u0 is an active user');
    assert.match(run.stderr, /"msg":"progress","task":"demo"/);
    const topics = await topicsOf(data);
    const records = Object.fromEntries(topics.map((t) => [t.topic, t.records]));
    assert.equal(records['rec.interactions'], 60000);
    assert.equal(records['rec.users'], 600);
    assert.ok(records['rec.items']! >= 120);

    const second = await demoUntilServing(['--data-dir', data]);
    children.push(second.child);
    assert.match(second.stdout, /resuming the demo in/);
    assert.equal((await listFor(second.url, 'u1')).model_version, 'recstream@1');
    second.child.kill('SIGINT');
    assert.equal((await second.done).code, 0);
    assert.equal(
      (await topicsOf(data)).find((t) => t.topic === 'rec.interactions')?.records,
      60000,
      'nothing streamed twice',
    );
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
