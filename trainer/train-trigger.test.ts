/**
 * When the trainer trains again: new snapshots must add
 * RECSTREAM_TRAIN_MIN_NEW_EXAMPLES examples, and the newest version must be
 * RECSTREAM_TRAIN_MIN_INTERVAL_MS old (wall clock). A round that passes
 * both goes on to gather the training set (here: snapshots over a topic
 * the log does not hold, so that read is where the round stops, before any
 * engine run).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { publishModelVersions } from '../registry/model-registry.js';
import { FileArtifactStore } from '../registry/model-store.js';
import { loadConfig } from '../runtime/config.js';
import { createProducer } from '../runtime/producer/producer.js';
import type { ModelVersion, TrainingSnapshot } from '../schemas/generated/types.js';
import { openPlatform } from '../schemas/platform.js';
import { Trainer, trainingSetId } from './trainer.js';

function snapshot(n: number, examples: number): TrainingSnapshot {
  return {
    snapshot_id: `snap-${n}`,
    created_ts: n,
    ranges: [
      {
        topic: 'rec.training-examples',
        partition: 0,
        start_offset: n * 1000,
        end_offset: n * 1000 + examples,
        excluded_offsets: [],
      },
    ],
    example_count: examples,
    event_time_start: null,
    event_time_end: null,
    schema_ids: [],
  };
}

function version(snapshots: readonly TrainingSnapshot[], createdTs: number): ModelVersion {
  return {
    model: 'recstream',
    version: 1,
    snapshot_id: trainingSetId(snapshots),
    lineage: snapshots.flatMap((s) => s.ranges),
    created_ts: createdTs,
    artifacts: [],
    metrics: {},
    status: 'promoted',
    status_ts: createdTs,
    reason: 'test',
    parent_version: null,
    engine: 'test',
    device: 'cpu',
    params: {},
  };
}

test('a retrain waits for enough new examples and for the minimum interval since the newest version', {
  timeout: 60_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-train-trigger-'));
  try {
    const round = async (env: Record<string, string>) => {
      const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_LEVEL: 'warn', ...env }, { dataDir }));
      try {
        const store = new FileArtifactStore(join(dataDir, 'artifacts'));
        return await new Trainer({ platform, store }).trainOnce();
      } finally {
        await platform.close();
      }
    };
    const old = [snapshot(1, 500)];
    const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_LEVEL: 'warn' }, { dataDir }));
    try {
      const producer = createProducer({
        log: platform.log,
        serde: platform.serde,
        createTopics: { partitions: 1 },
      });
      await producer.deliver('rec.training-snapshots', [{ value: old[0]! }, { value: snapshot(2, 300) }]);
      await producer.close();
      // The newest version: made ten minutes ago, on the first snapshot only.
      await publishModelVersions(platform, [version(old, Date.now() - 10 * 60_000)]);
    } finally {
      await platform.close();
    }
    assert.equal((await round({ RECSTREAM_TRAIN_MIN_NEW_EXAMPLES: '301' })).kind, 'too-few-new-examples');
    const soon = await round({
      RECSTREAM_TRAIN_MIN_NEW_EXAMPLES: '300',
      RECSTREAM_TRAIN_MIN_INTERVAL_MS: '3600000',
    });
    assert.equal(soon.kind, 'too-soon');
    assert.match('detail' in soon ? soon.detail : '', /RECSTREAM_TRAIN_MIN_INTERVAL_MS=3600000/);
    await assert.rejects(
      round({ RECSTREAM_TRAIN_MIN_NEW_EXAMPLES: '300', RECSTREAM_TRAIN_MIN_INTERVAL_MS: '300000' }),
      /rec\.training-examples does not exist/,
      'past both thresholds, the round reads the examples of its training set',
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
