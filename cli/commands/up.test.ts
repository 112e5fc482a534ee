/**
 * `recstream up` as an operator runs it on the embedded default: every role
 * in one child process over a data dir with a promoted model. An event
 * posted to its `/v1/events` for a user nobody has seen flows through the
 * processor applications running there, and that user's list turns from
 * the cold-start fallback into a personalised one; an experiment started
 * from a second terminal meanwhile (the running process appends it) puts
 * that user into a variant; SIGTERM stops it with exit 0.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { finished, runCliOk, startCli } from '../../test/cli.js';
import { buildServedWorld, SERVED_WORLD_ENV } from '../../test/served-world.js';

test('recstream up processes, trains, indexes and serves in one process; a new user is personalised after one event; an experiment started beside it is served', {
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
        experiment_id: string | null;
        variant: string | null;
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

    // A second terminal starts an experiment beside it: `up` holds the log and appends the
    // event, and its responder puts the user into a variant; stopping it takes them out.
    const file = join(root, 'ab.json');
    await writeFile(
      file,
      JSON.stringify({
        id: 'beside-up',
        salt: 'beside-up-1',
        variants: [
          { name: 'control', model: 'promoted', share: 0.5 },
          { name: 'same', model: 'recstream@1', share: 0.5 },
        ],
      }),
    );
    const started = await runCliOk(['experiments', 'start', file, '--data-dir', dataDir], SERVED_WORLD_ENV);
    assert.match(started.stdout, /experiment beside-up running/);
    while (now.experiment_id !== 'beside-up' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      now = await list('newcomer');
    }
    assert.equal(now.experiment_id, 'beside-up');
    assert.ok(now.variant === 'control' || now.variant === 'same', String(now.variant));
    await runCliOk(['experiments', 'stop', 'beside-up', '--data-dir', dataDir], SERVED_WORLD_ENV);
    while (now.experiment_id !== null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      now = await list('newcomer');
    }
    assert.equal(now.experiment_id, null);
    child.kill('SIGTERM');
    const exit = await done;
    assert.equal(exit.code, 0, exit.stderr);
  } finally {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});
