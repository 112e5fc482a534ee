/**
 * The gate's off-policy step through `recstream train` and `recstream
 * index` on a simulated world with RECSTREAM_GATE_OFF_POLICY=true: the
 * first version is promoted (nothing to compare with); the next one that
 * passes the holdout is published `candidate` awaiting the step; the
 * trainer waits for its index, the indexer builds it, and the next round
 * runs the step. No list has been served on this world, so the step cannot
 * run, and the candidate is rejected with that reason rather than passing
 * silently. A retrain through the admin API of `recstream serve`'s
 * responder takes the step the same way.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServing } from '../app/serving-store.js';
import { servingOffPolicyStep } from '../evaluation/off-policy/gate-step.js';
import { ModelRegistry } from '../registry/model-registry.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { runCliOk } from '../test/cli.js';
import { buildSnapshottedWorld, openServedPlatform, SERVED_WORLD_ENV } from '../test/served-world.js';
import type { TrainOutcome } from './trainer.js';

const ENV = {
  ...SERVED_WORLD_ENV,
  RECSTREAM_GATE_ALLOW_UNCOMPARED: 'true',
  RECSTREAM_GATE_OFF_POLICY: 'true',
};

test('RECSTREAM_GATE_OFF_POLICY=true: v2 awaits its index, then the step, which cannot run without served lists and rejects it', {
  timeout: 600_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-gate-off-policy-e2e-'));
  const cli = (args: string[], env: Record<string, string> = ENV) =>
    runCliOk([...args, '--data-dir', dataDir], env);
  const round = async (env?: Record<string, string>) =>
    JSON.parse((await cli(['train', '--once', '--json'], env)).stdout) as TrainOutcome;
  const versions = async () => JSON.parse((await cli(['models', 'list', '--json'])).stdout) as ModelVersion[];
  try {
    await buildSnapshottedWorld(dataDir, ENV);
    await cli(['train', '--once']);
    await cli(['train', '--once', '--force']);
    const [v1, v2] = await versions();
    assert.equal(v1!.status, 'promoted');
    assert.equal(v2!.status, 'candidate');
    assert.match(v2!.reason ?? '', /; awaiting the off-policy step$/);
    assert.equal(v2!.params.gate_pending, 'off-policy');

    const waiting = await round();
    assert.equal(waiting.kind, 'awaiting-off-policy-step');
    assert.match(
      'detail' in waiting ? waiting.detail : '',
      /recstream@2 awaits its index for the off-policy step/,
    );

    const indexed = (await cli(['index', '--once'])).stdout;
    assert.match(indexed, /full for recstream v1: .*\n.*full for recstream v2: /);

    const settled = await round({ ...ENV, RECSTREAM_GATE_ALLOW_UNCOMPARED: 'false' });
    assert.equal(settled.kind, 'published');
    const v2Settled = (await versions())[1]!;
    assert.equal(v2Settled.status, 'rejected');
    assert.match(
      v2Settled.reason ?? '',
      /; the off-policy step cannot run over 0 replayed lists: the candidate: the log holds no decisions \(RECSTREAM_GATE_ALLOW_UNCOMPARED=true promotes without it\)$/,
    );
    assert.equal(v2Settled.params.gate_pending, undefined);
    assert.equal(v2Settled.params.off_policy_compared, '1');
    assert.equal(v2Settled.metrics.off_policy_lists, 0);
    assert.equal((await versions())[0]!.status, 'promoted', 'v1 still serves');
    assert.equal((await round()).kind, 'up-to-date', 'the settled step is not run again');

    await cli(['train', '--once', '--force']);
    await cli(['index', '--once']);
    assert.equal((await versions())[2]!.params.gate_pending, 'off-policy');
    await retrainThroughAdminApi(dataDir);
    const v3 = (await versions())[2]!;
    assert.equal(v3.status, 'rejected', 'POST /admin/retrain ran the step');
    assert.match(v3.reason ?? '', /; the off-policy step cannot run over 0 replayed lists: /);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** `recstream serve`'s responder in this process, one POST /admin/retrain, until its round settled recstream@3. */
async function retrainThroughAdminApi(dataDir: string): Promise<void> {
  const key = 'rsk_gate_off_policy_admin';
  const platform = await openServedPlatform(dataDir, {
    ...ENV,
    RECSTREAM_GATE_ALLOW_UNCOMPARED: 'false',
    RECSTREAM_API_KEYS: `ops:admin:${createHash('sha256').update(key).digest('hex')}`,
  });
  try {
    const serving = await startServing(platform, servingOffPolicyStep(platform));
    try {
      const accepted = await serving.responder.app.inject({
        method: 'POST',
        url: '/admin/retrain',
        headers: { authorization: `ApiKey ${key}` },
      });
      assert.equal(accepted.statusCode, 202, accepted.body);
      // Closing the responder aborts a retrain under way, so wait for the round's event first.
      const deadline = Date.now() + 300_000;
      for (;;) {
        const registry = await ModelRegistry.load(platform.log, platform.serde);
        if (registry.get(platform.config.modelName, 3)?.params.gate_pending === undefined) break;
        assert.ok(Date.now() < deadline, 'the retrain settled recstream@3 within 5 minutes');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      await serving.close();
    }
  } finally {
    await platform.close();
  }
}
