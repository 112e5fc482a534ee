/**
 * The merge keeps waiting records in memory only and holds its input at
 * the oldest of them: a restart while records wait must deliver them again
 * and end in the same stores as a run without the restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OutgoingRecord } from '../../runtime/log/log.js';
import { partitionForKey } from '../../runtime/log/partitioner.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import type { Platform } from '../../runtime/platform.js';
import { avroSerializer } from '../../runtime/processor/avro-serdes.js';
import { StreamRunner } from '../../runtime/processor/runner.js';
import { event } from '../../test/features.js';
import { withTestPlatform } from '../../test/platform.js';
import { ENRICHED_TOPIC, featuresTopology } from '../../topologies/features.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 12);
const PARTITIONS = 2;
const OPTIONS = { latenessMs: MIN, labelWindowMs: 10 * MIN, watermarkIntervalMs: MIN };

/** ua is busy on partition 0; ub, alone on partition 1, keeps the merge's frontier back until batch B. */
const BATCH_A = [
  ...Array.from({ length: 30 }, (_, k) => ({
    partition: 0,
    event: event(`a${k}`, 'ua', 'i1', k % 3 === 0 ? 'impression' : 'click', T0 + k * MIN),
  })),
  { partition: 1, event: event('b0', 'ub', 'i2', 'click', T0) },
];
const BATCH_B = [{ partition: 1, event: event('b1', 'ub', 'i2', 'click', T0 + 120 * MIN) }];

async function write(platform: Platform, batch: typeof BATCH_A): Promise<void> {
  for (const name of ['rec.items', 'rec.users', 'rec.interactions'])
    await platform.log.ensureTopic({ name, partitions: PARTITIONS });
  const encoder = await platform.serde.encoder('rec.interactions-value');
  const records: OutgoingRecord[] = batch.map(({ partition, event: e }) => ({
    key: e.user_id,
    value: encoder.encode(e),
    timestamp: e.ts,
    partition,
  }));
  await platform.log.append('rec.interactions', records);
}

async function runner(platform: Platform, dataDir: string): Promise<StreamRunner> {
  return StreamRunner.start({
    topology: await featuresTopology(platform.serde, OPTIONS),
    log: platform.log,
    stateDir: join(dataDir, 'state'),
    engine: 'rocksdb',
    commitIntervalMs: 10,
    deadLetters: avroSerializer(await platform.serde.encoder('rec.dlq-value')),
    logger: silentLogger(),
  });
}

async function digestAfterCatchUp(platform: Platform, dataDir: string): Promise<Record<string, string>> {
  await (await runner(platform, dataDir)).runUntilCaughtUp();
  const inspect = await runner(platform, dataDir);
  try {
    return await inspect.digest();
  } finally {
    await inspect.close();
  }
}

test('records waiting in the merge at a restart are delivered again: the stores equal a run without the restart', async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-merge-restart-'));
  try {
    const cleanDir = join(root, 'clean');
    const expected = await withTestPlatform(cleanDir, async (platform) => {
      await write(platform, [...BATCH_A, ...BATCH_B]);
      return digestAfterCatchUp(platform, cleanDir);
    });

    const restartedDir = join(root, 'restarted');
    const actual = await withTestPlatform(restartedDir, async (platform) => {
      await write(platform, BATCH_A);
      await (await runner(platform, restartedDir)).runUntilCaughtUp();

      const reopened = await runner(platform, restartedDir);
      const item = partitionForKey('i1', PARTITIONS);
      const committed = reopened.taskState(item)!.committedInputOffsets().get(ENRICHED_TOPIC);
      const end = (await platform.log.offsets(ENRICHED_TOPIC))[item]!.end;
      await reopened.close();
      assert.ok(
        committed !== undefined && committed < end,
        `item-features holds ${ENRICHED_TOPIC}[${item}] at ${committed}, below its end ${end}, while ua's records wait`,
      );

      await write(platform, BATCH_B);
      return digestAfterCatchUp(platform, restartedDir);
    });
    assert.deepEqual(actual, expected);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
