/**
 * Determinism through crashes: the features application is SIGKILLed at
 * random points while it builds its stores, restarted, and finished; its
 * stores must equal a clean run's, and a replay from earliest afterwards
 * (over a changelog history full of orphans and corrections) must give the
 * same digest again.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { seededRandom } from '../../bench/interaction-load.js';
import { finished, runCliOk, startCli, stateDigests } from '../../test/cli.js';

const ENV = { RECSTREAM_COMMIT_INTERVAL_MS: '25', RECSTREAM_LOG_FSYNC: 'never' };
const KILLS = 4;

async function cli(args: string[]): Promise<string> {
  return (await runCliOk(args, ENV)).stdout;
}

function digest(dataDir: string): Promise<Record<string, string>> {
  return stateDigests(dataDir, ['features'], ENV);
}

async function simulate(dataDir: string): Promise<void> {
  await cli([
    'simulate',
    '--users',
    '400',
    '--items',
    '150',
    '--events',
    '20000',
    '--seed',
    '8',
    '--data-dir',
    dataDir,
  ]);
}

test('kill -9 loop, then replay from earliest: the features stores equal a clean run byte for byte', {
  timeout: 240_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-replay-crash-'));
  const clean = join(root, 'clean');
  const crashed = join(root, 'crashed');
  try {
    await simulate(clean);
    await simulate(crashed);
    await cli(['process', '--app', 'features', '--once', '--data-dir', clean]);
    const expected = await digest(clean);

    const random = seededRandom(3);
    for (let i = 0; i < KILLS; i++) {
      const child = startCli(['process', '--app', 'features', '--data-dir', crashed], ENV);
      const done = finished(child);
      await new Promise((r) => setTimeout(r, 400 + Math.floor(random() * 1200)));
      child.kill('SIGKILL');
      const result = await done;
      assert.equal(result.signal, 'SIGKILL', `child ${i} ended before the kill: ${result.stderr}`);
    }
    await cli(['process', '--app', 'features', '--once', '--data-dir', crashed]);
    assert.deepEqual(await digest(crashed), expected, 'after the crash loop');

    const out = await cli(['replay', '--processor', 'features', '--from', 'earliest', '--data-dir', crashed]);
    assert.match(out, /features: replayed \d+ input records from earliest/);
    assert.deepEqual(await digest(crashed), expected, 'after a replay from earliest');

    // And a crash in the middle of a replay: the next replay still converges.
    const child = startCli(['replay', '--processor', 'features', '--data-dir', crashed], ENV);
    const done = finished(child);
    await new Promise((r) => setTimeout(r, 800 + Math.floor(random() * 800)));
    child.kill('SIGKILL');
    await done;
    await cli(['replay', '--processor', 'features', '--data-dir', crashed]);
    assert.deepEqual(await digest(crashed), expected, 'after a replay killed midway and run again');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
