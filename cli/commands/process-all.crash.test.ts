/**
 * Effectively-once for every application `recstream process --app all`
 * runs (enumerated from `APPLICATIONS`, so one added later is covered):
 * the child is SIGKILLed at random points while it runs them all, then
 * finished with `--once`; every store of every application must equal a
 * clean `--once` run's, byte for byte. Then `replay --processor all --from
 * earliest` over that data dir must give the same digests again.
 *
 * Co-visitation is the application whose stores this catches moving: its
 * item side adds up records that every sessions task writes to one
 * internal topic, whose interleaving changes with commit timing, crashes
 * and replays; the sizes are the smallest at which that showed.
 *
 * Left out of the comparison, by name: stores whose values are offsets of
 * `rec.training-examples`. A training snapshot is an offset range of that
 * topic (its lineage), and a crash or a replay of `features` writes
 * examples at other offsets (repeats, a new generation), so those stores
 * cannot equal a clean run's; the examples themselves are compared in the
 * `features` stores that made them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { seededRandom } from '../../bench/interaction-load.js';
import { finished, runCliOk, startCli, stateDigests } from '../../test/cli.js';
import { committedPositions } from '../../test/platform.js';
import { applicationNames } from '../../topologies/index.js';

const ENV = { RECSTREAM_COMMIT_INTERVAL_MS: '25', RECSTREAM_LOG_FSYNC: 'never' };
const EVENTS = 60_000;
const KILLS = 8;
/** `<application>/<store>` holding offsets of rec.training-examples (see above). */
const OFFSET_STORES = ['snapshots/snapshot-open', 'snapshots/snapshot-members'];

function offsetStore(name: string): boolean {
  return OFFSET_STORES.some((store) => name.startsWith(`${store}/`));
}

async function simulate(dataDir: string): Promise<void> {
  await runCliOk(
    [
      'simulate',
      '--users',
      '3000',
      '--items',
      '1000',
      '--events',
      String(EVENTS),
      '--seed',
      '11',
      '--data-dir',
      dataDir,
    ],
    ENV,
  );
}

/** Digest per `<application>/<store>/<partition>`; every application must have stores in it. */
async function digests(dataDir: string): Promise<Record<string, string>> {
  const out = await stateDigests(dataDir, applicationNames(), ENV);
  for (const app of applicationNames())
    assert.ok(
      Object.keys(out).some((name) => name.startsWith(`${app}/`)),
      `${app} has no stores in the digest: it did not run`,
    );
  return out;
}

/** The stores (but those of `OFFSET_STORES`) whose digest differs from `expected`, for a message that names them. */
function differing(actual: Record<string, string>, expected: Record<string, string>): string[] {
  const names = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  return [...names].filter((n) => !offsetStore(n) && actual[n] !== expected[n]).sort();
}

test('kill -9 during `process --app all`, then a replay from earliest: every store of every application equals a clean run', {
  timeout: 900_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-all-crash-'));
  const clean = join(root, 'clean');
  const crashed = join(root, 'crashed');
  try {
    await simulate(clean);
    await simulate(crashed);
    await runCliOk(['process', '--app', 'all', '--once', '--data-dir', clean], ENV);
    const expected = await digests(clean);
    for (const store of OFFSET_STORES)
      assert.ok(
        Object.keys(expected).some((name) => name.startsWith(`${store}/`)),
        `${store} is no store any more: take it off OFFSET_STORES`,
      );
    const total = await committedPositions(clean, 'rec.interactions');

    const random = seededRandom(5);
    let midway = 0;
    for (let i = 0; i < KILLS; i++) {
      const child = startCli(['process', '--app', 'all', '--data-dir', crashed], ENV);
      const done = finished(child);
      await new Promise((r) => setTimeout(r, 1500 + Math.floor(random() * 2500)));
      child.kill('SIGKILL');
      const result = await done;
      assert.equal(result.signal, 'SIGKILL', `child ${i} ended before the kill: ${result.stderr}`);
      const committed = await committedPositions(crashed, 'rec.interactions');
      if ([...total].some(([app, end]) => (committed.get(app) ?? 0) < end)) midway++;
    }
    // The kills must have landed while there was work left, or the test proves nothing.
    assert.ok(midway >= KILLS / 2, `only ${midway} of ${KILLS} kills landed mid-stream`);

    await runCliOk(['process', '--app', 'all', '--once', '--data-dir', crashed], ENV);
    const afterCrashes = await digests(crashed);
    assert.deepEqual(differing(afterCrashes, expected), [], 'stores that differ after the kills');

    await runCliOk(['replay', '--processor', 'all', '--from', 'earliest', '--data-dir', crashed], ENV);
    const afterReplay = await digests(crashed);
    assert.deepEqual(differing(afterReplay, expected), [], 'stores that differ after a replay from earliest');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
