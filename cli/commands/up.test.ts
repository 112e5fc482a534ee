/**
 * `recstream up` as an operator runs it on the embedded default: every role
 * in one child process over a data dir with a promoted model. An event
 * posted to its `/v1/events` for a user nobody has seen flows through the
 * processor applications running there, and that user's list turns from
 * the cold-start fallback into a personalised one; SIGTERM stops it with
 * exit 0.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { finished, startCli } from '../../test/cli.js';
import { buildServedWorld, SERVED_WORLD_ENV } from '../../test/served-world.js';

test('recstream up processes, trains, indexes and serves in one process; a new user is personalised after one event', {
  timeout: 300_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-up-'));
  const dataDir = join(root, 'data');
  let child: ChildProcess | undefined;
  try {
    await buildServedWorld(dataDir);
    child = startCli(['up', '--data-dir', dataDir], { ...SERVED_WORLD_ENV, RECSTREAM_HTTP_PORT: '0' });
    const done = finished(child);
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const deadline = Date.now() + 120_000;
    while (!/serving on (http:\S+)/.test(stdout) && child.exitCode === null && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const url = /serving on (http:\S+)/.exec(stdout)?.[1];
    assert.ok(url, stdout);
    const list = async (user: string) =>
      (await (await fetch(`${url}/v1/recommendations/${user}?k=5`)).json()) as {
        fallback: string | null;
        model_version: string | null;
      };
    assert.equal((await list('newcomer')).fallback, 'cold_start');
    const posted = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { event_id: 'up-e1', user_id: 'newcomer', item_id: 'i3', type: 'click', ts: Date.now() },
      ]),
    });
    assert.equal(posted.status, 202);
    let now = await list('newcomer');
    while (now.fallback !== null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      now = await list('newcomer');
    }
    assert.equal(now.fallback, null);
    assert.equal(now.model_version, 'recstream@1');
    child.kill('SIGTERM');
    const exit = await done;
    assert.equal(exit.code, 0, exit.stderr);
  } finally {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});
