/**
 * Duplicates end to end, on the embedded log with RocksDB: a copy of an
 * interaction a day later in event time changes no feature view and no
 * count, and the memory of ids taken (store `event-ids`) is restored from
 * its changelog onto an empty disk like any store.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HOUR_MS } from '../features/math/decay.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import type { Platform } from '../runtime/platform.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import type { Interaction } from '../schemas/generated/types.js';
import { PLATFORM_TOPICS } from '../schemas/topics.js';
import { event } from '../test/features.js';
import { catchUp, digest, examples, PARTITIONS, T0 } from '../test/features-runner.js';
import { withTestPlatform } from '../test/platform.js';
import { interactionCountsTopology } from './interaction-counts.js';

const DAY_MS = 24 * HOUR_MS;
const USERS = ['u1', 'u2', 'u3'];

/** Each user an interaction an hour, for `hours` hours from `from`. */
function hourly(prefix: string, from: number, hours: number): Interaction[] {
  return Array.from({ length: hours }, (_, h) =>
    USERS.map((u, k) => event(`${prefix}-${u}-${h}`, u, `i${(h + k) % 5}`, 'click', from + h * HOUR_MS)),
  ).flat();
}

const DAY0 = hourly('d0', T0, 24);
const REPEATED = DAY0[7]!;
const DAY1 = hourly('d1', T0 + DAY_MS, 24);
/** The next day, with a copy of one interaction of the day before among its first hours. */
const DAY1_WITH_COPY = [...DAY1.slice(0, 6), REPEATED, ...DAY1.slice(6)];

async function write(platform: Platform, events: readonly Interaction[]): Promise<void> {
  await platform.log.ensureTopic({ name: 'rec.interactions', partitions: PARTITIONS });
  const encoder = await platform.serde.encoder('rec.interactions-value');
  await platform.log.append(
    'rec.interactions',
    events.map((e) => ({
      key: e.user_id,
      value: encoder.encode(e),
      timestamp: e.ts,
      partition: USERS.indexOf(e.user_id) % PARTITIONS,
    })),
  );
}

async function counts(platform: Platform, dataDir: string): Promise<StreamRunner> {
  return StreamRunner.start({
    topology: await interactionCountsTopology(platform.serde),
    log: platform.log,
    stateDir: join(dataDir, 'state-counts'),
    engine: 'rocksdb',
    commitIntervalMs: 10,
    deadLetters: avroSerializer(await platform.serde.encoder('rec.dlq-value')),
    topics: PLATFORM_TOPICS,
    logger: silentLogger(),
  });
}

/** Both applications to the end of the log. */
async function processAll(platform: Platform, dataDir: string): Promise<void> {
  await (await counts(platform, dataDir)).runUntilCaughtUp();
  await catchUp(platform, dataDir);
}

async function digests(platform: Platform, dataDir: string): Promise<Record<string, string>> {
  const runner = await counts(platform, dataDir);
  let countStores: Record<string, string>;
  try {
    countStores = await runner.digest();
  } finally {
    await runner.close();
  }
  const out: Record<string, string> = {};
  for (const [store, hash] of Object.entries(countStores)) out[`interaction-counts/${store}`] = hash;
  for (const [store, hash] of Object.entries(await digest(platform, dataDir)))
    out[`features/${store}`] = hash;
  return out;
}

/** Two days of interactions in two parts, processed after each; `wipe` empties the state dirs in between. */
async function run(root: string, name: string, second: readonly Interaction[], wipe = false) {
  const dataDir = join(root, name);
  return withTestPlatform(dataDir, async (platform) => {
    await write(platform, DAY0);
    await processAll(platform, dataDir);
    if (wipe) {
      await rm(join(dataDir, 'state'), { recursive: true, force: true });
      await rm(join(dataDir, 'state-counts'), { recursive: true, force: true });
    }
    await write(platform, second);
    await processAll(platform, dataDir);
    return digests(platform, dataDir);
  });
}

test('a copy of an interaction a day later changes no view and no count; the ids taken are restored from the changelog', {
  timeout: 120_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-dedup-'));
  try {
    const without = await run(root, 'without-copy', DAY1);
    const withCopy = await run(root, 'with-copy', DAY1_WITH_COPY);
    // All the copy changes: the memory of ids (it counts the duplicate) and user-features' input position.
    const partition = USERS.indexOf(REPEATED.user_id) % PARTITIONS;
    const changed = Object.keys(withCopy).filter((store) => withCopy[store] !== without[store]);
    assert.deepEqual(changed.sort(), [
      `features/event-ids/${partition}`,
      `features/user-clock/${partition}`,
      `interaction-counts/event-ids/${partition}`,
    ]);
    assert.ok(Object.keys(without).some((store) => store.startsWith('features/user-view/')));
    assert.ok(Object.keys(without).some((store) => store.startsWith('interaction-counts/counts/')));

    const restored = await run(root, 'restored', DAY1_WITH_COPY, true);
    assert.deepEqual(
      restored,
      withCopy,
      'restored from the changelogs, the stores equal a run without restart',
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a copy dropped while input was held, delivered again after a restart, stays dropped', {
  timeout: 120_000,
}, async () => {
  const MIN = 60_000;
  const first = event('a1', 'u1', 'i1', 'click', T0);
  // u1 is on partition 0, u2 on partition 1 (USERS order): both tasks move the merge's frontier.
  const held = [
    first,
    event('b1', 'u2', 'i2', 'click', T0),
    event('a2', 'u1', 'i2', 'click', T0 + 10 * MIN),
    event('a3', 'u1', 'i1', 'click', T0 + 29 * MIN + 10_000),
    // A copy of a1 stamped anew: after a1 was released, within the watermark of a3, so user-features
    // holds its input at a3 and a restart delivers the copy again.
    { ...first, ts: T0 + 29 * MIN + 20_000 },
  ];
  const later = [
    event('a4', 'u1', 'i1', 'click', T0 + 2 * HOUR_MS),
    event('b2', 'u2', 'i2', 'click', T0 + 2 * HOUR_MS),
  ];
  const root = await mkdtemp(join(tmpdir(), 'recstream-dedup-held-'));
  try {
    const cleanDir = join(root, 'clean');
    const expected = await withTestPlatform(cleanDir, async (platform) => {
      await write(platform, [...held, ...later]);
      await catchUp(platform, cleanDir);
      return digest(platform, cleanDir);
    });
    const restartedDir = join(root, 'restarted');
    const actual = await withTestPlatform(restartedDir, async (platform) => {
      await write(platform, held);
      await catchUp(platform, restartedDir);
      await write(platform, later);
      await catchUp(platform, restartedDir);
      const ids = (await examples(platform)).map((e) => e.example_id);
      assert.deepEqual(
        ids.filter((id) => id === 'a1'),
        ['a1'],
        'one example of a1',
      );
      return digest(platform, restartedDir);
    });
    assert.deepEqual(actual, expected);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
