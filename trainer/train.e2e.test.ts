/**
 * The trainer and the indexer end to end, as an operator runs them:
 * simulate → process → snapshots → `recstream train` (CPU, small) → a
 * promoted ModelVersion → `recstream index` → an IndexVersion, with every
 * artifact's sha256 checked; a retrain of the same lineage with the same
 * seed gives identical metrics; a kill -9 during training leaves no
 * version and the retry publishes one; a changed artifact is refused.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkParity } from '../inference/parity.js';
import { IndexRegistry } from '../registry/index-registry.js';
import { sha256File } from '../registry/model-store.js';
import type { RankerUse } from '../registry/ranker-use.js';
import type { IndexVersion, ModelVersion } from '../schemas/generated/types.js';
import { CLI, pathExists, runCli, runCliOk } from '../test/cli.js';
import { withTestPlatform } from '../test/platform.js';
import { buildSnapshottedWorld } from '../test/served-world.js';

const ENV = {
  RECSTREAM_COMMIT_INTERVAL_MS: '50',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '4000',
  RECSTREAM_TRAIN_CONFIG: JSON.stringify({ ranker_epochs: 2, dim: 32, threads: 2, refit: false }),
  // This world is small (150 items, ~60 holdout users), where popularity is hard to beat by a
  // margin that is not noise; the test is about the pipeline, `bench quality` about quality.
  RECSTREAM_GATE_POPULARITY_MARGIN: '0.3',
};
const cli = async (args: string[]) => (await runCliOk(args, ENV)).stdout;

async function versions(dataDir: string): Promise<(ModelVersion & { ranker: RankerUse })[]> {
  return JSON.parse(await cli(['models', 'list', '--json', '--data-dir', dataDir])) as (ModelVersion & {
    ranker: RankerUse;
  })[];
}

async function verifyHashes(artifacts: readonly { uri: string; sha256: string }[]): Promise<void> {
  for (const a of artifacts) assert.equal(await sha256File(fileURLToPath(a.uri)), a.sha256, a.uri);
}

/** The holdout metrics that must repeat exactly (timings and the comparison with a previous model left out). */
function holdoutMetrics(metrics: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(metrics).filter(([k]) => !/seconds|per_s|^previous_|^compared_/.test(k)),
  );
}

function startDetached(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, RECSTREAM_LOG_LEVEL: 'warn', ...ENV },
    stdio: 'ignore',
    detached: true,
  });
}

test('simulate → process → train → promoted model → index; same seed same metrics; kill -9 leaves no version', {
  timeout: 600_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-train-e2e-'));
  const dataDir = join(root, 'data');
  try {
    await buildSnapshottedWorld(dataDir, ENV);

    const trained = await cli(['train', '--once', '--data-dir', dataDir]);
    assert.match(trained, /recstream v1 promoted/);
    const [v1] = await versions(dataDir);
    assert.equal(v1!.status, 'promoted');
    assert.equal(v1!.device, 'cpu');
    assert.ok(v1!.lineage.length > 0);
    assert.ok(
      v1!.metrics.recall_at_20! > 0.7 * v1!.metrics.popularity_recall_at_20!,
      JSON.stringify(v1!.metrics),
    );
    assert.ok(v1!.metrics.ranker_auc! > v1!.metrics.ctr_baseline_auc!, JSON.stringify(v1!.metrics));
    assert.equal(v1!.ranker.serves, true, 'models list --json says the ranker serves');
    assert.match(v1!.ranker.reason, /^ranker_auc 0\.\d{4} above the CTR baseline's 0\.\d{4}/);
    for (const name of [
      'user_tower.onnx',
      'item_tower.onnx',
      'ranker.onnx',
      'item_embeddings.npy',
      'dataset.json',
    ])
      assert.ok(
        v1!.artifacts.some((a) => a.name === name),
        `missing ${name}`,
      );
    await verifyHashes(v1!.artifacts);
    const modelDir = join(fileURLToPath(v1!.artifacts[0]!.uri), '..');
    for (const [model, diff] of Object.entries(await checkParity(modelDir)))
      assert.ok(diff < 1e-4, `ONNX in Node vs PyTorch for ${model}: max difference ${diff}`);

    assert.match(await cli(['train', '--once', '--data-dir', dataDir]), /no new version/);

    const indexed = await cli(['index', '--once', '--quantization', 'i8', '--data-dir', dataDir]);
    assert.match(indexed, /items v1 full for recstream v1/);
    const index = await withTestPlatform(dataDir, async ({ log, serde }) =>
      (await IndexRegistry.load(log, serde)).versions('items'),
    );
    const full = index[0] as IndexVersion;
    assert.equal(full.model_version, 1);
    assert.equal(await sha256File(fileURLToPath(full.uri)), full.sha256);
    assert.ok(full.item_count > 100);

    // Retrain of the same lineage, same seed: identical metrics.
    await cli(['train', '--once', '--force', '--data-dir', dataDir]);
    const [, v2] = await versions(dataDir);
    assert.deepEqual(v2!.lineage, v1!.lineage);
    assert.deepEqual(holdoutMetrics(v2!.metrics), holdoutMetrics(v1!.metrics));
    // v1 was not refit, so it never trained on the holdout: both are compared on all of it.
    assert.equal(v2!.metrics.previous_holdout_examples, v1!.metrics.holdout_examples);
    assert.equal(v2!.metrics.previous_recall_at_20, v1!.metrics.recall_at_20);
    assert.equal(v2!.metrics.compared_recall_at_20, v2!.metrics.recall_at_20);
    assert.equal(v2!.params.previous_compared, '1');
    assert.equal(v1!.params.previous_compared, 'none');

    // kill -9 while the engine trains: no version; the retry publishes one.
    const child = startDetached(['train', '--once', '--force', '--data-dir', dataDir]);
    const work = join(dataDir, 'trainer', 'work');
    for (let i = 0; i < 600; i++) {
      const sets = (await pathExists(work)) ? await readdir(work) : [];
      if (sets.length > 0 && (await pathExists(join(work, sets[0]!, 'dataset', 'manifest.json')))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(-child.pid!, 'SIGKILL');
    assert.equal((await versions(dataDir)).length, 2, 'a version was published by the killed run');
    await cli(['train', '--once', '--force', '--data-dir', dataDir]);
    const after = await versions(dataDir);
    assert.equal(after.length, 3);
    assert.deepEqual(holdoutMetrics(after[2]!.metrics), holdoutMetrics(v1!.metrics));
    await verifyHashes(after[2]!.artifacts);

    // Rollback by events: v3 out, v2 back.
    assert.match(await cli(['models', 'rollback', '--data-dir', dataDir]), /v3 rolled back, v2 promoted/);
    const rolled = await versions(dataDir);
    assert.equal(rolled.find((v) => v.version === 3)!.status, 'rolled_back');
    assert.equal(rolled.find((v) => v.version === 2)!.status, 'promoted');

    // An artifact whose bytes changed is refused, by promote and by the indexer.
    await appendFile(fileURLToPath(v1!.artifacts.find((a) => a.name === 'item_embeddings.npy')!.uri), 'x');
    const refused = await runCli(['models', 'promote', '1', '--data-dir', dataDir], ENV);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /item_embeddings\.npy .* has sha256 .* expected/);

    // The promoted model's weights changed: the next round cannot compare with it and is rejected,
    // naming the artifact; with the override it is promoted and says so.
    const promotedV2 = rolled.find((v) => v.version === 2)!;
    await appendFile(fileURLToPath(promotedV2.artifacts.find((a) => a.name === 'model.npz')!.uri), 'x');
    assert.match(await cli(['train', '--once', '--force', '--data-dir', dataDir]), /recstream v4 rejected/);
    const v4 = (await versions(dataDir)).find((v) => v.version === 4)!;
    assert.equal(v4.status, 'rejected');
    assert.match(
      v4.reason!,
      /comparison cannot run: the promoted model v2 was not compared: artifact model\.npz .* has sha256 .* expected/,
    );
    const overridden = await runCliOk(['train', '--once', '--force', '--data-dir', dataDir], {
      ...ENV,
      RECSTREAM_GATE_ALLOW_UNCOMPARED: 'true',
    });
    assert.match(overridden.stdout, /recstream v5 promoted/);
    const v5 = (await versions(dataDir)).find((v) => v.version === 5)!;
    assert.equal(v5.status, 'promoted');
    assert.match(v5.params.gate_override!, /the promoted model v2 was not compared: artifact model\.npz/);
    assert.match(v5.reason!, /gate_override: the promoted model v2/);
    assert.equal(v5.params.previous_compared, 'none');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('without a Python interpreter that has torch, `recstream train` says what to install and exits non-zero', {
  timeout: 60_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-train-nopython-'));
  try {
    const dataDir = join(root, 'data');
    const result = await runCli(['train', '--once', '--data-dir', dataDir], {
      ...ENV,
      RECSTREAM_PYTHON: join(root, 'no-such-python3'),
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /cannot import torch and numpy; install PyTorch .*apt-get install python3-torch libopenblas0-pthread/,
    );
    assert.deepEqual(await versions(dataDir), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
