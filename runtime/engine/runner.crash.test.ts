/**
 * Effectively-once state across kill -9: a `recstream process`
 * child counting interactions per user is SIGKILLed at random points several
 * times and restarted; the final stores must equal a clean run's, byte for
 * byte, with every input event counted exactly once. Then the state dir is
 * deleted and restored from the changelogs: still equal.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { seededRandom } from '../../bench/interaction-load.js';
import { finished, runCli, startCli } from '../../test/cli.js';
import { countedInteractions } from '../../test/interaction-counts.js';
import { writeInteractions } from '../../test/platform.js';
import { sleep } from '../retry.js';

const EVENTS = 150_000;
const USERS = 3_000;
const PARTITIONS = 4;
const KILLS = 6;
const ENV = { RECSTREAM_COMMIT_INTERVAL_MS: '25', RECSTREAM_LOG_FSYNC: 'never' };
// Kill 250–900 ms after start: the child is mid-stream (start-up alone takes a few hundred ms).

async function produce(dataDir: string): Promise<void> {
  await writeInteractions(dataDir, PARTITIONS, { seed: 42, users: USERS, items: 1000, count: EVENTS });
}

/** Records in the interaction-counts changelogs, read beside the running child. */
async function changelogRecords(dataDir: string): Promise<number> {
  const result = await runCli(['topics', '--json', '--data-dir', dataDir], ENV);
  assert.equal(result.code, 0, result.stderr);
  const topics = JSON.parse(result.stdout) as { topic: string; records: number }[];
  return topics
    .filter((t) => t.topic.startsWith('rec.interaction-counts.') && t.topic.endsWith('.changelog'))
    .reduce((n, t) => n + t.records, 0);
}

async function digest(dataDir: string): Promise<string> {
  const result = await runCli(['state', 'digest', '--json', '--data-dir', dataDir], ENV);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).all;
}

test('kill -9 at random points never loses or double-counts an event', { timeout: 240_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-crash-'));
  const clean = join(root, 'clean');
  const crashed = join(root, 'crashed');
  try {
    await produce(clean);
    await produce(crashed);

    const once = await runCli(['process', '--app', 'interaction-counts', '--once', '--data-dir', clean], ENV);
    assert.equal(once.code, 0, once.stderr);
    const expected = await digest(clean);
    assert.equal(await countedInteractions(clean, PARTITIONS), EVENTS);

    const random = seededRandom(7);
    const committedAfterKill: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const child = startCli(['process', '--app', 'interaction-counts', '--data-dir', crashed], ENV);
      const done = finished(child);
      await new Promise((r) => setTimeout(r, 250 + Math.floor(random() * 650)));
      child.kill('SIGKILL');
      const result = await done;
      assert.equal(result.signal, 'SIGKILL', `child ${i} ended before the kill: ${result.stderr}`);
      committedAfterKill.push(await countedInteractions(crashed, PARTITIONS));
    }
    // The kills must have landed while there was work left, or the test proves nothing.
    const midway = committedAfterKill.filter((n) => n < EVENTS);
    assert.ok(
      midway.length >= 3,
      `only ${midway.length} kills landed mid-stream: ${committedAfterKill.join(', ')}`,
    );
    for (let i = 1; i < committedAfterKill.length; i++)
      assert.ok(committedAfterKill[i]! >= committedAfterKill[i - 1]!);

    const last = await runCli(
      ['process', '--app', 'interaction-counts', '--once', '--data-dir', crashed],
      ENV,
    );
    assert.equal(last.code, 0, last.stderr);
    assert.equal(await countedInteractions(crashed, PARTITIONS), EVENTS, 'every event counted exactly once');
    assert.equal(await digest(crashed), expected, 'stores equal a clean run byte for byte');

    // Lose the disk: the state is restored from the changelogs and is still equal.
    await rm(join(crashed, 'state'), { recursive: true, force: true });
    assert.equal(await digest(crashed), expected, 'restored stores equal a clean run');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('SIGTERM drains, commits what was processed and exits 0', { timeout: 120_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-sigterm-'));
  try {
    await produce(dataDir);
    const child = startCli(['process', '--app', 'interaction-counts', '--data-dir', dataDir], {
      ...ENV,
      RECSTREAM_LOG_LEVEL: 'info',
    });
    const done = finished(child);
    // Signalled once the child has committed something (its changelog grew), however long start-up took.
    for (let tries = 0; tries < 120 && !(await changelogRecords(dataDir)); tries++) await sleep(250);
    child.kill('SIGTERM');
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    const closed = result.stderr
      .split('\n')
      .filter((line) => line.includes('"runner closed"'))
      .map((line) => JSON.parse(line) as { processed: number });
    assert.equal(closed.length, 1, result.stderr);
    assert.ok(closed[0]!.processed > 0, 'the child processed records before the signal');
    assert.equal(
      await countedInteractions(dataDir, PARTITIONS),
      closed[0]!.processed,
      'everything processed was committed',
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
