/**
 * The gate's canary option through `recstream train`: on a simulated world
 * with RECSTREAM_GATE_CANARY_PCT=5, the first version is promoted (nothing
 * to compare with), the next one that passes the gate is published
 * `candidate` and its canary experiment is running at 5 %.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Experiment, ModelVersion } from '../schemas/generated/types.js';
import { runCliOk } from '../test/cli.js';
import { buildSnapshottedWorld, SERVED_WORLD_ENV } from '../test/served-world.js';

const ENV = { ...SERVED_WORLD_ENV, RECSTREAM_GATE_ALLOW_UNCOMPARED: 'true', RECSTREAM_GATE_CANARY_PCT: '5' };

test('RECSTREAM_GATE_CANARY_PCT=5: v1 promoted, v2 passes the gate as candidate with canary-recstream-2 at 5 %', {
  timeout: 600_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-gate-canary-e2e-'));
  const cli = (...args: string[]) => runCliOk([...args, '--data-dir', dataDir], ENV);
  try {
    await buildSnapshottedWorld(dataDir, ENV);
    await cli('train', '--once');
    await cli('train', '--once', '--force');
    const versions = JSON.parse((await cli('models', 'list', '--json')).stdout) as ModelVersion[];
    assert.deepEqual(
      versions.map((v) => [v.version, v.status]),
      [
        [1, 'promoted'],
        [2, 'candidate'],
      ],
    );
    assert.match(versions[1]!.reason ?? '', /; canary at 5 %$/);
    const experiments = JSON.parse((await cli('experiments', 'list', '--json')).stdout) as Experiment[];
    assert.deepEqual(
      experiments.map((e) => [
        e.id,
        e.status,
        e.variants.map((v) => `${v.name}=${v.model}:${v.share}`).join(' '),
      ]),
      [['canary-recstream-2', 'running', 'candidate=recstream@2:0.05 control=promoted:0.95']],
    );
    assert.deepEqual(experiments[0]!.canary?.steps, [0.05, 0.25, 0.5, 1]);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
