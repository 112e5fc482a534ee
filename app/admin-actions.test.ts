import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ArtifactIntegrityError, ModelRegistryError } from '../registry/errors.js';
import { ModelRegistry, publishModelVersion } from '../registry/model-registry.js';
import { FileArtifactStore } from '../registry/model-store.js';
import { RetrainRunningError } from '../responders/errors.js';
import { loadConfig } from '../runtime/config.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { createProducer } from '../runtime/producer/producer.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { openPlatform, type Platform } from '../schemas/platform.js';
import { platformAdminActions } from './admin-actions.js';

/** A scratch platform with `promoted` versions of the configured model, each with one small real artifact. */
async function withPlatform(
  promoted: number,
  fn: (platform: Platform, store: FileArtifactStore, dataDir: string) => Promise<void>,
): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-admin-'));
  const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_FSYNC: 'never' }, { dataDir }), {
    logger: silentLogger(),
  });
  const store = new FileArtifactStore(join(dataDir, 'artifacts'));
  try {
    const producer = createProducer({
      log: platform.log,
      serde: platform.serde,
      createTopics: { partitions: platform.config.partitions },
    });
    for (let version = 1; version <= promoted; version++) {
      const source = join(dataDir, `trained-v${version}`);
      await mkdir(source);
      await writeFile(join(source, 'model.onnx'), `weights of v${version}`);
      const event: ModelVersion = {
        model: platform.config.modelName,
        version,
        snapshot_id: `set-${version}`,
        lineage: [],
        created_ts: version,
        artifacts: await store.put('models', platform.config.modelName, version, source),
        metrics: { recall_at_20: 0.1 * version },
        status: 'promoted',
        status_ts: version,
        reason: 'passed the gate',
        parent_version: version === 1 ? null : version - 1,
        engine: 'test',
        device: 'cpu',
        params: {},
      };
      await publishModelVersion(producer, event);
    }
    await producer.close();
    await fn(platform, store, dataDir);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

test('rollback publishes the events that fold to the older version promoted, the newer rolled back', async () => {
  await withPlatform(2, async (platform, store) => {
    const model = platform.config.modelName;
    const actions = platformAdminActions(platform, store);
    const result = await actions.rollback('CTR dropped');
    assert.deepEqual(result, {
      model,
      rolled_back_version: 2,
      promoted_version: 1,
      reason: 'rollback of v2: CTR dropped',
    });
    const registry = await ModelRegistry.load(platform.log, platform.serde);
    assert.equal(registry.promoted(model)?.version, 1);
    assert.equal(registry.get(model, 2)?.status, 'rolled_back');
    assert.equal(registry.get(model, 2)?.reason, 'CTR dropped');
    assert.deepEqual(
      registry
        .events()
        .slice(-2)
        .map((e) => [e.version, e.status]),
      [
        [2, 'rolled_back'],
        [1, 'promoted'],
      ],
    );
    await assert.rejects(actions.rollback(), ModelRegistryError, 'v1 is the only promotion left');
    await actions.close();
  });
});

test('rollback to a version whose artifact changed is refused and publishes nothing', async () => {
  await withPlatform(2, async (platform, store) => {
    const before = await ModelRegistry.load(platform.log, platform.serde);
    const artifact = before.get(platform.config.modelName, 1)!.artifacts[0]!;
    await writeFile(store.localPath(artifact.uri), 'tampered');
    const actions = platformAdminActions(platform, store);
    await assert.rejects(actions.rollback(), ArtifactIntegrityError);
    const after = await ModelRegistry.load(platform.log, platform.serde);
    assert.equal(after.events().length, before.events().length);
    assert.equal(after.promoted(platform.config.modelName)?.version, 2);
    await actions.close();
  });
});

test('reindex without a promoted model says so; a second retrain while one runs is RETRAIN_RUNNING', async () => {
  await withPlatform(0, async (platform, store) => {
    const actions = platformAdminActions(platform, store);
    assert.equal(((await actions.reindex()) as { kind: string }).kind, 'no-promoted-model');
    const started = (await actions.retrain()) as { accepted: boolean; started_ts: number };
    assert.equal(started.accepted, true);
    await assert.rejects(actions.retrain(), (err: unknown) => {
      assert.ok(err instanceof RetrainRunningError);
      assert.equal(err.code, 'RETRAIN_RUNNING');
      assert.equal(err.startedTs, started.started_ts);
      return true;
    });
    // close() waits for the background round (here: no snapshots, or no engine) to end.
    await actions.close();
  });
});

test('promote publishes one promoted event after verifying; an unknown, promoted or tampered version publishes nothing', async () => {
  await withPlatform(2, async (platform, store) => {
    const model = platform.config.modelName;
    const actions = platformAdminActions(platform, store);
    assert.deepEqual(await actions.promote(1, 'v2 regressed'), {
      model,
      promoted_version: 1,
      previous_version: 2,
      already_promoted: false,
      reason: 'v2 regressed',
    });
    let registry = await ModelRegistry.load(platform.log, platform.serde);
    assert.equal(registry.promoted(model)?.version, 1);
    const events = registry.events().length;
    assert.equal(((await actions.promote(1)) as { already_promoted: boolean }).already_promoted, true);
    await assert.rejects(actions.promote(7), ModelRegistryError);
    await writeFile(store.localPath(registry.get(model, 2)!.artifacts[0]!.uri), 'tampered');
    await assert.rejects(actions.promote(2), ArtifactIntegrityError);
    registry = await ModelRegistry.load(platform.log, platform.serde);
    assert.equal(registry.events().length, events);
    assert.equal(registry.promoted(model)?.version, 1);
    await actions.close();
  });
});
