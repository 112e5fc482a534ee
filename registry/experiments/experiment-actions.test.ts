import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import type { ModelVersion } from '../../schemas/generated/types.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { ArtifactIntegrityError, ModelRegistryError } from '../errors.js';
import { ModelRegistry, publishModelVersions } from '../model-registry.js';
import { FileArtifactStore } from '../model-store.js';
import { GATE_PENDING_PARAM, OFF_POLICY_STEP } from '../pending-gate-step.js';
import { canarySteps, startCanary } from './canary.js';
import { ExperimentConflictError, ExperimentInvalidError, ExperimentNotFoundError } from './errors.js';
import { readExperiment, startExperiment, stopExperiment } from './experiment-actions.js';
import { ExperimentRegistry } from './experiment-registry.js';

/** A scratch platform whose model has v1 promoted, v2 candidate, v3 rejected, each with a real artifact. */
async function withModels(
  fn: (platform: Platform, store: FileArtifactStore) => Promise<void>,
): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-experiment-actions-'));
  const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_FSYNC: 'never' }, { dataDir }), {
    logger: silentLogger(),
  });
  const store = new FileArtifactStore(join(dataDir, 'artifacts'));
  try {
    const statuses = ['promoted', 'candidate', 'rejected'] as const;
    const versions: ModelVersion[] = [];
    for (const [i, status] of statuses.entries()) {
      const version = i + 1;
      const source = join(dataDir, `trained-v${version}`);
      await mkdir(source);
      await writeFile(join(source, 'model.onnx'), `weights of v${version}`);
      versions.push({
        model: 'recstream',
        version,
        snapshot_id: `set-${version}`,
        lineage: [],
        created_ts: version,
        artifacts: await store.put('models', 'recstream', version, source),
        metrics: {},
        status,
        status_ts: version,
        reason: null,
        parent_version: null,
        engine: 'test',
        device: 'cpu',
        params: {},
      });
    }
    await publishModelVersions(platform, versions);
    await fn(platform, store);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const AB = {
  id: 'ab',
  salt: 'ab-salt',
  variants: [
    { name: 'control', model: 'promoted', share: 0.5 },
    { name: 'candidate', model: 'recstream@2', share: 0.5 },
  ],
};

test('start publishes a running experiment; starting it again while it runs is a conflict on id', async () => {
  await withModels(async (platform) => {
    const { experiment, replaced } = await startExperiment(platform, AB, 100);
    assert.equal(replaced, undefined);
    assert.equal(experiment.created_ts, 100);
    assert.deepEqual(await readExperiment(platform, 'ab'), experiment);
    const again = await startExperiment(platform, AB, 200).catch((e: unknown) => e);
    assert.ok(again instanceof ExperimentConflictError);
    assert.equal(again.field, 'id');
    assert.equal((await readExperiment(platform, 'ab')).created_ts, 100, 'nothing was published');
  });
});

test('stop publishes the stopped state with the reason; a stopped id starts afresh, replacing it', async () => {
  await withModels(async (platform) => {
    await startExperiment(platform, AB, 100);
    const stopped = await stopExperiment(platform, 'ab', 'enough data', 150);
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.reason, 'enough data');
    assert.equal(stopped.updated_ts, 150);
    assert.equal(stopped.created_ts, 100);
    const registry = await ExperimentRegistry.load(platform.log, platform.serde);
    assert.deepEqual(registry.get('ab'), stopped);
    assert.deepEqual(registry.running(), []);

    const twice = await stopExperiment(platform, 'ab').catch((e: unknown) => e);
    assert.ok(twice instanceof ExperimentConflictError);
    assert.equal(twice.field, 'id');
    assert.ok(
      (await stopExperiment(platform, 'nope').catch((e: unknown) => e)) instanceof ExperimentNotFoundError,
    );

    const restarted = await startExperiment(platform, { ...AB, salt: 'new-salt' }, 300);
    assert.equal(restarted.replaced?.status, 'stopped');
    assert.equal(restarted.experiment.created_ts, 300);
    assert.equal((await readExperiment(platform, 'ab')).salt, 'new-salt');
  });
});

test('start refuses, publishing nothing: a bad file, a rejected model, an overlap with a running experiment', async () => {
  await withModels(async (platform) => {
    const cases: [unknown, string, typeof ExperimentInvalidError | typeof ExperimentConflictError][] = [
      [
        { ...AB, variants: [{ name: 'a', model: 'promoted', share: 0.7 }] },
        'variants',
        ExperimentInvalidError,
      ],
      [
        { ...AB, variants: [{ name: 'a', model: 'recstream@3', share: 1 }] },
        'variants[0].model',
        ExperimentInvalidError,
      ],
    ];
    await startExperiment(platform, { ...AB, id: 'upper', traffic_start: 0.5 });
    cases.push([{ ...AB, traffic_end: 0.6 }, 'traffic_start', ExperimentConflictError]);
    for (const [json, field, kind] of cases) {
      const error = await startExperiment(platform, json).catch((e: unknown) => e);
      assert.ok(error instanceof kind, String(error));
      assert.equal((error as ExperimentInvalidError).field, field);
    }
    const registry = await ExperimentRegistry.load(platform.log, platform.serde);
    assert.deepEqual(
      registry.all().map((e) => e.id),
      ['upper'],
    );
    // Layered: the lower half is free.
    await startExperiment(platform, { ...AB, traffic_end: 0.5 });
  });
});

test('canarySteps starts at the given share and goes on with the configured steps above it', () => {
  assert.deepEqual(canarySteps(0.05, [0.05, 0.25, 0.5, 1]), [0.05, 0.25, 0.5, 1]);
  assert.deepEqual(canarySteps(0.1, [0.05, 0.25, 0.5, 1]), [0.1, 0.25, 0.5, 1]);
  assert.deepEqual(canarySteps(0.6, [0.05, 0.25, 0.5, 1]), [0.6, 1]);
});

test('startCanary: a candidate starts canary-<model>-<version>; other versions and a second start are refused', async () => {
  await withModels(async (platform, store) => {
    const { experiment } = await startCanary(platform, store, { version: 2, share: 0.05, now: 10 });
    assert.equal(experiment.id, 'canary-recstream-2');
    assert.deepEqual(
      experiment.variants.map((v) => [v.name, v.model, v.share]),
      [
        ['candidate', 'recstream@2', 0.05],
        ['control', 'promoted', 0.95],
      ],
    );
    assert.deepEqual(experiment.canary?.steps, [0.05, 0.25, 0.5, 1]);
    assert.equal(experiment.canary?.min_impressions, 200, 'RECSTREAM_CANARY_MIN_IMPRESSIONS by default');
    assert.equal(experiment.canary?.min_step_ms, 60_000, 'RECSTREAM_CANARY_MIN_STEP_MS by default');
    assert.deepEqual(
      experiment.guardrails.map((g) => g.metric),
      ['ctr', 'error_rate', 'fallback_rate', 'latency_p99_ms'],
    );
    assert.match(experiment.salt, /^[0-9a-f]{16}$/);
    assert.deepEqual(await readExperiment(platform, experiment.id), experiment);

    const running = await startCanary(platform, store, { version: 2, share: 0.05 }).catch((e: unknown) => e);
    assert.ok(running instanceof ExperimentConflictError, String(running));
    for (const version of [1, 3, 9]) {
      const error = await startCanary(platform, store, { version, share: 0.05 }).catch((e: unknown) => e);
      assert.ok(error instanceof ModelRegistryError, String(error));
    }
    const whole = await startCanary(platform, store, { version: 2, share: 1 }).catch((e: unknown) => e);
    assert.ok(whole instanceof ModelRegistryError);

    // A fresh salt each time it starts: a restarted canary does not reuse the last run's split.
    await stopExperiment(platform, experiment.id);
    const second = await startCanary(platform, store, {
      version: 2,
      share: 0.25,
      minImpressions: 50,
      minStepMs: 1000,
    });
    assert.notEqual(second.experiment.salt, experiment.salt);
    assert.deepEqual(second.experiment.canary?.steps, [0.25, 0.5, 1]);
    assert.equal(second.experiment.canary?.min_impressions, 50);
    assert.equal(second.experiment.canary?.min_step_ms, 1000);
  });
});

test("startCanary refuses a candidate awaiting the gate's off-policy step, naming it", async () => {
  await withModels(async (platform, store) => {
    const v2 = (await ModelRegistry.load(platform.log, platform.serde)).get('recstream', 2)!;
    await publishModelVersions(platform, [{ ...v2, params: { [GATE_PENDING_PARAM]: OFF_POLICY_STEP } }]);
    const error = await startCanary(platform, store, { version: 2, share: 0.05 }).catch((e: unknown) => e);
    assert.ok(error instanceof ModelRegistryError, String(error));
    assert.match(error.message, /recstream v2 awaits the gate's off-policy step/);
    assert.deepEqual((await ExperimentRegistry.load(platform.log, platform.serde)).all(), []);
  });
});

test('startCanary verifies the candidate artifacts and publishes nothing when they do not', async () => {
  await withModels(async (platform, store) => {
    const v2 = (await ModelRegistry.load(platform.log, platform.serde)).get('recstream', 2)!;
    await writeFile(store.localPath(v2.artifacts[0]!.uri), 'tampered');
    const error = await startCanary(platform, store, { version: 2, share: 0.05 }).catch((e: unknown) => e);
    assert.ok(error instanceof ArtifactIntegrityError, String(error));
    assert.deepEqual((await ExperimentRegistry.load(platform.log, platform.serde)).all(), []);
  });
});
