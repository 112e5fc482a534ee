import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { StreamRunner } from '../runtime/engine/runner.js';
import type { EmbeddedLog } from '../runtime/log/embedded/embedded-log.js';
import type { LogRecord } from '../runtime/log/log.js';
import { partitionForKey } from '../runtime/log/partitioner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import type { Topology } from '../runtime/processor/topology.js';
import type { TrainingExample, TrainingSnapshot } from '../schemas/generated/types.js';
import { PLATFORM_TOPICS, TRAINING_SNAPSHOTS_TOPIC } from '../schemas/topics.js';
import { simulatedWorld, writeWorld } from '../test/features-world.js';
import { withScratchLog } from '../test/platform.js';
import { type FeaturesOptions, featuresTopology } from './features.js';
import { snapshotsTopology } from './snapshots.js';

const PARTITIONS = 2;
const OPTIONS: FeaturesOptions = {
  latenessMs: 600_000,
  labelWindowMs: 1_800_000,
  watermarkIntervalMs: 60_000,
};

async function readAll(log: EmbeddedLog, topic: string, partition: number): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (;;) {
    const batch = await log.read(topic, partition, out.length, 1000);
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

test('features → snapshots: after an opt-out, none of the user’s examples reach a snapshot closed later, earlier ones included', {
  timeout: 120_000,
}, async () => {
  await withScratchLog('recstream-snapshots-opt-out-', async ({ dir, log, serde }) => {
    const world = simulatedWorld({
      seed: 12,
      users: 60,
      items: 30,
      events: 4_000,
      days: 2,
      latenessMs: OPTIONS.latenessMs,
      partitions: PARTITIONS,
    });
    const optingOut = new Set(world.optedOutLater);
    const isLateOptOut = (u: (typeof world.users)[number]) => u.opt_out && optingOut.has(u.user_id);
    const optOuts = world.users.filter(isLateOptOut);
    assert.ok(optOuts.length > 0);
    const deadLetters = avroSerializer(await serde.encoder('rec.dlq-value'));
    const run = async (topology: Topology) =>
      (
        await StreamRunner.start({
          topology,
          log,
          stateDir: join(dir, topology.applicationId),
          engine: 'rocksdb',
          deadLetters,
          topics: PLATFORM_TOPICS,
          logger: silentLogger(),
          commitIntervalMs: 20,
        })
      ).runUntilCaughtUp();
    const features = await featuresTopology(serde, OPTIONS);
    const snapshots = await snapshotsTopology(serde, { everyExamples: 400, everyMs: 7 * 86_400_000 });
    const both = async () => {
      await run(features);
      await run(snapshots);
    };
    const snapshotIds = async () => {
      const ids = new Set<string>();
      for (let p = 0; p < PARTITIONS; p++)
        for (const r of await readAll(log, TRAINING_SNAPSHOTS_TOPIC, p)) ids.add(r.key!);
      return ids;
    };

    // First half of the interactions, with profiles that do not opt out yet.
    await writeWorld(
      log,
      serde,
      { ...world, users: world.users.filter((u) => !isLateOptOut(u)) },
      PARTITIONS,
      {
        from: 0,
        to: 0.5,
      },
    );
    await both();
    const before = await snapshotIds();
    // The opt-outs, then the second half.
    const users = await serde.encoder('rec.users-value');
    for (const u of optOuts)
      await log.append('rec.users', [
        {
          key: u.user_id,
          value: users.encode(u),
          timestamp: u.updated_ts,
          partition: partitionForKey(u.user_id, PARTITIONS),
        },
      ]);
    await both();
    await writeWorld(log, serde, world, PARTITIONS, { from: 0.5, to: 1 });
    await both();

    const decoder = await serde.decoder('rec.training-snapshots-value');
    const examples = await serde.decoder('rec.training-examples-value');
    let after = 0;
    let excludedEarlier = 0;
    let keptBefore = 0;
    const examplesOf = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, p) => readAll(log, 'rec.training-examples', p)),
    );
    for (let p = 0; p < PARTITIONS; p++) {
      for (const r of await readAll(log, TRAINING_SNAPSHOTS_TOPIC, p)) {
        const s = (await decoder.decode(r.value!)) as TrainingSnapshot;
        const closedBefore = before.has(s.snapshot_id);
        if (!closedBefore) after++;
        for (const range of s.ranges) {
          const excluded = new Set(range.excluded_offsets);
          for (let offset = range.start_offset; offset < range.end_offset; offset++) {
            const e = (await examples.decode(
              examplesOf[range.partition]![offset]!.value!,
            )) as TrainingExample;
            if (!optingOut.has(e.user_id)) continue;
            if (excluded.has(offset)) {
              if (!closedBefore) excludedEarlier++;
              continue;
            }
            assert.ok(
              closedBefore,
              `${e.example_id} of opted-out ${e.user_id} is in ${s.snapshot_id}, closed after the opt-out`,
            );
            keptBefore++;
          }
        }
      }
    }
    assert.ok(after > 0, 'snapshots closed after the opt-out');
    assert.ok(keptBefore > 0, 'snapshots closed before the opt-out keep the examples they had');
    assert.ok(excludedEarlier > 0, 'examples emitted before the opt-out were left out of later snapshots');
  });
});
