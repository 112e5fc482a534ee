import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StreamRunner } from '../runtime/engine/runner.js';
import { EmbeddedLog } from '../runtime/log/embedded/embedded-log.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import { openEmbeddedRegistry } from '../runtime/registry/embedded/embedded-registry.js';
import type { Serde } from '../runtime/serde/serde.js';
import { platformSerde } from '../schemas/platform.js';
import { PLATFORM_TOPICS } from '../schemas/topics.js';
import { simulatedWorld, writeWorld } from '../test/features-world.js';
import { type FeaturesOptions, featuresTopology } from './features.js';

const PARTITIONS = 4;
const OPTIONS: FeaturesOptions = {
  latenessMs: 600_000,
  labelWindowMs: 1_800_000,
  watermarkIntervalMs: 60_000,
};

test('features stores are byte-identical after a replay from earliest and after processing the same events in other batches', {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-features-determinism-'));
  const world = simulatedWorld({
    seed: 9,
    users: 200,
    items: 80,
    events: 6_000,
    days: 2,
    latenessMs: OPTIONS.latenessMs,
    partitions: PARTITIONS,
  });
  const opened: { log: EmbeddedLog; close: () => Promise<void> }[] = [];
  const open = async (name: string) => {
    const log = await EmbeddedLog.open(join(dir, name, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
    const registry = await openEmbeddedRegistry({ dataDir: join(dir, name) });
    const serde = platformSerde(registry);
    const entry = {
      log,
      serde,
      close: async () => {
        await log.close();
        await registry.close();
      },
    };
    opened.push(entry);
    return entry;
  };
  const runnerFor = async (
    target: { log: EmbeddedLog; serde: Serde },
    stateDir: string,
    tuning: { commitIntervalMs: number; maxPollRecords: number },
  ) =>
    StreamRunner.start({
      topology: await featuresTopology(target.serde, OPTIONS),
      log: target.log,
      stateDir,
      engine: 'rocksdb',
      deadLetters: avroSerializer(await target.serde.encoder('rec.dlq-value')),
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
      ...tuning,
    });
  const digestOf = async (target: { log: EmbeddedLog; serde: Serde }, stateDir: string) => {
    const runner = await runnerFor(target, stateDir, { commitIntervalMs: 100, maxPollRecords: 2000 });
    try {
      return await runner.digest();
    } finally {
      await runner.close();
    }
  };
  try {
    // Live: the events arrive in two parts, processed with small polls and frequent commits.
    const live = await open('live');
    const liveState = join(dir, 'live', 'state');
    const small = { commitIntervalMs: 5, maxPollRecords: 150 };
    await writeWorld(live.log, live.serde, world, PARTITIONS, { from: 0, to: 0.5 });
    await (await runnerFor(live, liveState, small)).runUntilCaughtUp();
    await writeWorld(live.log, live.serde, world, PARTITIONS, { from: 0.5, to: 1 });
    await (await runnerFor(live, liveState, small)).runUntilCaughtUp();
    const expected = await digestOf(live, liveState);
    assert.ok(Object.keys(expected).some((k) => k.startsWith('item-view/')));

    // Replay: the same log from earliest into an empty state directory.
    const replayState = join(dir, 'live', 'state-replay');
    await (
      await runnerFor(live, replayState, { commitIntervalMs: 100, maxPollRecords: 2000 })
    ).runUntilCaughtUp();
    assert.deepEqual(await digestOf(live, replayState), expected);

    // Batch: every event at once into a new log, with large polls: the internal topic interleaves differently.
    const batch = await open('batch');
    const batchState = join(dir, 'batch', 'state');
    await writeWorld(batch.log, batch.serde, world, PARTITIONS);
    await (
      await runnerFor(batch, batchState, { commitIntervalMs: 1000, maxPollRecords: 5000 })
    ).runUntilCaughtUp();
    assert.deepEqual(await digestOf(batch, batchState), expected);
  } finally {
    for (const o of opened) await o.close();
    await rm(dir, { recursive: true, force: true });
  }
});
