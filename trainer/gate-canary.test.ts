import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExperimentRegistry, publishExperiments } from '../registry/experiments/experiment-registry.js';
import { experimentFromJson } from '../registry/experiments/validate-experiment.js';
import { ModelRegistry, publishModelVersions } from '../registry/model-registry.js';
import { FileArtifactStore } from '../registry/model-store.js';
import { loadConfig } from '../runtime/config.js';
import { silentLogger } from '../runtime/observability/logger.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { openPlatform, type Platform } from '../schemas/platform.js';
import { passedStatus, startGateCanary } from './gate-canary.js';

/** A scratch platform where v1 is promoted and v2 is the candidate the trainer just published. */
async function withCandidate(
  env: Record<string, string>,
  fn: (platform: Platform, candidate: ModelVersion) => Promise<void>,
): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-gate-canary-'));
  const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_FSYNC: 'never', ...env }, { dataDir }), {
    logger: silentLogger(),
  });
  const store = new FileArtifactStore(join(dataDir, 'artifacts'));
  try {
    const versions: ModelVersion[] = [];
    for (const [version, status] of [
      [1, 'promoted'],
      [2, passedStatus(platform.config, { status: 'promoted' } as ModelVersion)],
    ] as const) {
      const source = join(dataDir, `trained-v${version}`);
      await mkdir(source);
      await writeFile(join(source, 'model.onnx'), `weights of v${version}`);
      versions.push({
        model: platform.config.modelName,
        version,
        snapshot_id: `set-${version}`,
        lineage: [],
        created_ts: version,
        artifacts: await store.put('models', platform.config.modelName, version, source),
        metrics: { recall_at_20: 0.1 * version },
        status,
        status_ts: version,
        reason: 'passed the gate',
        parent_version: version === 1 ? null : 1,
        engine: 'test',
        device: 'cpu',
        params: {},
      });
    }
    await publishModelVersions(platform, versions);
    await fn(platform, versions[1]!);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

test('a version passing the gate is promoted unless a canary share is set and another version is promoted', () => {
  const promoted = { status: 'promoted' } as ModelVersion;
  assert.equal(passedStatus(loadConfig({}), promoted), 'promoted');
  assert.equal(passedStatus(loadConfig({ RECSTREAM_GATE_CANARY_PCT: '5' }), promoted), 'candidate');
  assert.equal(passedStatus(loadConfig({ RECSTREAM_GATE_CANARY_PCT: '5' }), undefined), 'promoted');
});

test('RECSTREAM_GATE_CANARY_PCT=10: the candidate starts a canary at 10 % with the configured steps and guardrails', async () => {
  await withCandidate(
    { RECSTREAM_GATE_CANARY_PCT: '10', RECSTREAM_CANARY_CTR_TOLERANCE: '0.02' },
    async (platform, candidate) => {
      assert.equal(candidate.status, 'candidate');
      const started = await startGateCanary(platform, candidate);
      const experiments = await ExperimentRegistry.load(platform.log, platform.serde);
      const canary = experiments.get('canary-recstream-2');
      assert.deepEqual(canary, started);
      assert.equal(canary?.status, 'running');
      assert.deepEqual(
        canary?.variants.map((v) => [v.name, v.model, v.share]),
        [
          ['candidate', 'recstream@2', 0.1],
          ['control', 'promoted', 0.9],
        ],
      );
      assert.deepEqual(canary?.canary?.steps, [0.1, 0.25, 0.5, 1]);
      assert.equal(canary?.canary?.step, 0);
      assert.deepEqual(
        canary?.guardrails.map((g) => [g.metric, g.tolerance]),
        [
          ['ctr', 0.02],
          ['error_rate', 0.1],
          ['fallback_rate', 0.1],
          ['latency_p99_ms', 0.25],
        ],
      );
      assert.match(canary?.reason ?? '', /RECSTREAM_GATE_CANARY_PCT=10/);
      // The model registry is untouched: v1 still serves everyone outside the canary.
      const models = await ModelRegistry.load(platform.log, platform.serde);
      assert.equal(models.promoted('recstream')?.version, 1);
      assert.equal(models.get('recstream', 2)?.status, 'candidate');
    },
  );
});

test('a refused canary (another experiment over every user) leaves the version candidate and the trainer going', async () => {
  await withCandidate({ RECSTREAM_GATE_CANARY_PCT: '5' }, async (platform, candidate) => {
    const ab = experimentFromJson(
      { id: 'ab', salt: 's', variants: [{ name: 'only', model: 'promoted', share: 1 }] },
      Date.now(),
    );
    await publishExperiments(platform, [ab]);
    assert.equal(await startGateCanary(platform, candidate), undefined);
    const experiments = await ExperimentRegistry.load(platform.log, platform.serde);
    assert.deepEqual(
      experiments.all().map((e) => e.id),
      ['ab'],
    );
  });
});
