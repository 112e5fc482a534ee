/**
 * Effectively-once for every application `recstream process --app all`
 * runs (enumerated from `APPLICATIONS`, so one added later is covered):
 * the child is SIGKILLed at random points while it runs them all, then
 * finished with `--once`; every store of every application must equal a
 * clean `--once` run's, byte for byte. Then `replay --processor all --from
 * earliest` over that data dir must give the same digests again. The same
 * kills during `process --once --threads 2` (stream threads, each owning
 * its tasks) must end in a clean one-thread run's stores too.
 *
 * Co-visitation is the application whose stores this catches moving: its
 * item side adds up records that every sessions task writes to one
 * internal topic, whose interleaving changes with commit timing, crashes
 * and replays; the sizes are the smallest at which that showed.
 *
 * Compared by what they mean, not byte for byte: the snapshotter's stores
 * `snapshot-open`, `snapshot-members` and `snapshot-example-ids`, whose
 * values are offsets of `rec.training-examples`. A crash or a replay of
 * `features` writes examples at other offsets and in another order (a
 * replay appends a new generation), so those bytes cannot equal a clean
 * run's. Each offset is
 * read back as its example (`test/snapshot-meaning.ts`), and what must
 * hold is:
 * - per user, the distinct examples (id, event time, schema id) in the
 *   snapshots, published or open, equal the clean run's: none lost, none
 *   gained, whatever the offsets;
 * - every snapshot's count, the open one's included, is its number of
 *   distinct examples (a repeat is not counted twice), `snapshot-members`
 *   are the open snapshot's examples, each member entry's user, time and
 *   schema id are its example's, and `snapshot-example-ids` names each of
 *   them at its offset, and the last published snapshot's examples it
 *   keeps, each with its digest;
 * - after the kills, no example is in two snapshots. After the replay that
 *   is not asked: the snapshots published before it stay in
 *   `rec.training-snapshots`, and the replay snapshots both generations.
 * Which snapshot an example lands in is not compared, for it does not
 * hold: the snapshotter cuts by event time in arrival order, and the order
 * in which `features` writes late examples changes with commit timing and
 * crashes, so a late example can fall on either side of a cut and the
 * published snapshots (ids, lineages, counts) differ from a clean run's.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { seededRandom } from '../../bench/interaction-load.js';
import { finished, runCliOk, startCli, stateDigests } from '../../test/cli.js';
import { committedPositions } from '../../test/platform.js';
import { type SnapshotMeaning, snapshotMeaning } from '../../test/snapshot-meaning.js';
import { applicationNames } from '../../topologies/index.js';

/**
 * Snapshots of 4,000 examples, cut by count (a year of event time never
 * closes one): the snapshotter recognises a crash's repeat against the
 * open snapshot and the last closed one, so it holds only while a snapshot
 * is larger than what one `features` commit writes to its partition
 * (docs/decisions.md §15). Daily cuts of this small world make snapshots
 * of 40–300 examples, which a fast machine's commit (400 examples a
 * partition measured) outruns, and the check would then test the data, not
 * the snapshotter.
 */
const ENV = {
  RECSTREAM_COMMIT_INTERVAL_MS: '25',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '4000',
  RECSTREAM_SNAPSHOT_EVERY_MS: String(365 * 24 * 3600 * 1000),
};
const EVENTS = 60_000;
const KILLS = 8;
/** `<application>/<store>` holding offsets of rec.training-examples: compared by meaning (see above). */
const OFFSET_STORES = [
  'snapshots/snapshot-open',
  'snapshots/snapshot-members',
  'snapshots/snapshot-example-ids',
];

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

/** Checks `actual` against the clean run's `expected` (see the header); `when` names the step. `oneGeneration`: no replay yet. */
function sameMeaning(
  actual: SnapshotMeaning,
  expected: SnapshotMeaning,
  when: string,
  oneGeneration: boolean,
): void {
  assert.deepEqual(actual.faults, [], `snapshot stores contradict their examples ${when}`);
  if (oneGeneration) assert.equal(actual.inTwoSnapshots, 0, `examples in two snapshots ${when}`);
  const users = new Set([...Object.keys(actual.byUser), ...Object.keys(expected.byUser)]);
  const differ = [...users].filter(
    (u) => JSON.stringify(actual.byUser[u]) !== JSON.stringify(expected.byUser[u]),
  );
  assert.deepEqual(differ, [], `users whose snapshotted examples differ ${when}`);
}

/** How long the clean run took: its start-up (a run with nothing left to do), and the rest, its work. */
interface CleanTiming {
  readonly startupMs: number;
  readonly workMs: number;
}

/**
 * Times the clean `--once` run (already done in `clean`, taking `runMs`) by
 * a second run there with nothing left to do, whose time is start-up alone.
 */
async function cleanTiming(clean: string, runMs: number): Promise<CleanTiming> {
  const started = performance.now();
  await runCliOk(['process', '--app', 'all', '--once', '--data-dir', clean], ENV);
  const startupMs = performance.now() - started;
  return { startupMs, workMs: Math.max(0, runMs - startupMs) };
}

/** `recstream process --app all --once` on `dataDir`, and how long it took. */
async function timedRun(dataDir: string): Promise<number> {
  const started = performance.now();
  await runCliOk(['process', '--app', 'all', '--once', '--data-dir', dataDir], ENV);
  return performance.now() - started;
}

/**
 * Starts `args` and SIGKILLs it at a random moment, `KILLS` times; at least
 * half the kills must land while `dataDir` had work left (`total`: the clean
 * run's committed positions), or the test proves nothing. Each kill comes
 * after the clean run's start-up and within the first quarter of its work,
 * so the kills land mid-stream on a fast machine as on a slow one (fixed
 * seconds let a fast one finish the work within the first few children).
 * `mayFinish`: a `--once` child may get to its end first, and must then
 * have ended well.
 */
async function killRepeatedly(
  args: readonly string[],
  dataDir: string,
  total: Map<string, number>,
  timing: CleanTiming,
  seed: number,
  mayFinish: boolean,
): Promise<void> {
  const random = seededRandom(seed);
  let midway = 0;
  for (let i = 0; i < KILLS; i++) {
    const child = startCli(args, ENV);
    const done = finished(child);
    const delayMs = timing.startupMs + random() * 0.25 * timing.workMs;
    await new Promise((r) => setTimeout(r, delayMs));
    child.kill('SIGKILL');
    const result = await done;
    if (result.signal !== 'SIGKILL') {
      assert.ok(mayFinish, `child ${i} ended before the kill: ${result.stderr}`);
      assert.equal(result.code, 0, result.stderr);
    }
    const committed = await committedPositions(dataDir, 'rec.interactions');
    if ([...total].some(([app, end]) => (committed.get(app) ?? 0) < end)) midway++;
  }
  assert.ok(midway >= KILLS / 2, `only ${midway} of ${KILLS} kills landed mid-stream`);
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
    const runMs = await timedRun(clean);
    const expected = await digests(clean);
    for (const store of OFFSET_STORES)
      assert.ok(
        Object.keys(expected).some((name) => name.startsWith(`${store}/`)),
        `${store} is no store any more: take it off OFFSET_STORES`,
      );
    const expectedMeaning = await snapshotMeaning(clean);
    assert.deepEqual(
      expectedMeaning.faults,
      [],
      'snapshot stores contradict their examples in the clean run',
    );
    assert.equal(expectedMeaning.inTwoSnapshots, 0, 'examples in two snapshots in the clean run');
    // Compared must mean something: snapshots published, examples in them and in the open one.
    assert.ok(
      expectedMeaning.published > 0 && expectedMeaning.members.examples > 0,
      JSON.stringify(expectedMeaning.members),
    );
    const total = await committedPositions(clean, 'rec.interactions');
    const timing = await cleanTiming(clean, runMs);

    // A live process never ends by itself: every child must have been killed.
    await killRepeatedly(
      ['process', '--app', 'all', '--data-dir', crashed],
      crashed,
      total,
      timing,
      5,
      false,
    );

    await runCliOk(['process', '--app', 'all', '--once', '--data-dir', crashed], ENV);
    const afterCrashes = await digests(crashed);
    assert.deepEqual(differing(afterCrashes, expected), [], 'stores that differ after the kills');
    sameMeaning(await snapshotMeaning(crashed), expectedMeaning, 'after the kills', true);

    await runCliOk(['replay', '--processor', 'all', '--from', 'earliest', '--data-dir', crashed], ENV);
    const afterReplay = await digests(crashed);
    assert.deepEqual(differing(afterReplay, expected), [], 'stores that differ after a replay from earliest');
    sameMeaning(await snapshotMeaning(crashed), expectedMeaning, 'after a replay from earliest', false);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('kill -9 during `process --app all --once --threads 2`: every store equals a clean run on one thread', {
  timeout: 900_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-threads-crash-'));
  const clean = join(root, 'clean');
  const crashed = join(root, 'crashed');
  const threaded = ['process', '--app', 'all', '--once', '--threads', '2', '--data-dir', crashed];
  try {
    await simulate(clean);
    await simulate(crashed);
    const runMs = await timedRun(clean);
    const expected = await digests(clean);
    const expectedMeaning = await snapshotMeaning(clean);
    const total = await committedPositions(clean, 'rec.interactions');
    const timing = await cleanTiming(clean, runMs);

    await killRepeatedly(threaded, crashed, total, timing, 7, true);

    await runCliOk(threaded, ENV);
    assert.deepEqual(differing(await digests(crashed), expected), [], 'stores that differ after the kills');
    sameMeaning(await snapshotMeaning(crashed), expectedMeaning, 'after the kills', true);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
