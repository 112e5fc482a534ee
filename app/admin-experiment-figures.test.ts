/**
 * `GET /admin/experiments/:id` with the responder's online store: a seeded
 * A/B world counted by the experiment-metrics application, read through
 * the in-process store as `up` runs it. The answer carries the report
 * (counts equal to a count of the raw topics, the verdict naming the better
 * variant); `figures` is null for an experiment nothing was counted for, and
 * absent where the store does not hold the figures.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fastify from 'fastify';
import { SignJWT } from 'jose';
import type { ExperimentReport } from '../processors/experiment-metrics/report.js';
import { FileArtifactStore } from '../registry/model-store.js';
import { AccessPolicy } from '../responders/auth/access.js';
import { Authenticator } from '../responders/auth/authenticator.js';
import { adminRoutes } from '../responders/routes/admin.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { runnersLookup } from '../runtime/online/in-process/task-lookup.js';
import type { OnlineStore } from '../runtime/online/online-store.js';
import { openOnlineStore } from '../runtime/online/open.js';
import type { Platform } from '../runtime/platform.js';
import type { Experiment } from '../schemas/generated/types.js';
import { experimentTraffic } from '../sim/experiment-traffic.js';
import {
  countFromTopics,
  metricsRunner,
  publishWorld,
  RANKER_AB,
  runExperimentMetrics,
  T0,
} from '../test/experiments.js';
import { withTestPlatform } from '../test/platform.js';
import { onlineViews } from '../topologies/online-views.js';
import { platformAdminActions } from './admin-actions.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';

const AB: Experiment = { ...RANKER_AB, traffic_end: 0.5 };
const QUIET: Experiment = { ...AB, id: 'quiet-ab', salt: 'q1', traffic_start: 0.5, traffic_end: 1 };

/** GET /admin/experiments/:id through the admin routes over an online store. */
async function getExperiment(platform: Platform, online: OnlineStore, id: string) {
  const actions = platformAdminActions(
    platform,
    new FileArtifactStore(join(platform.config.dataDir, 'artifacts')),
    online,
  );
  const app = fastify();
  try {
    const access = new AccessPolicy(await Authenticator.fromConfig({ jwtSecret: SECRET }), false);
    await app.register(access.plugin);
    await app.register(adminRoutes, { access, actions, experiments: actions });
    const admin = await new SignJWT({ scope: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ops@example.com')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const res = await app.inject({
      method: 'GET',
      url: `/admin/experiments/${id}`,
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { experiment: Experiment; figures?: ExperimentReport | null };
  } finally {
    await app.close();
    await actions.close();
  }
}

test('GET /admin/experiments/:id adds the figures the online store holds: counts of the raw topics and the verdict', {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-admin-experiment-figures-'));
  try {
    await withTestPlatform(
      dir,
      async (platform) => {
        const world = experimentTraffic({
          seed: 7,
          experimentId: AB.id,
          requests: 2000,
          rates: { candidate: 0.08, control: 0.04 },
          start: T0,
          spacingMs: 500,
        });
        await publishWorld(platform, [AB, QUIET], world);
        const stateDir = join(dir, 'state');
        await runExperimentMetrics(platform, stateDir);
        const counted = await countFromTopics(platform, AB.id);

        const runner = await metricsRunner(platform, stateDir);
        const views = await onlineViews(platform.serde);
        const online = await openOnlineStore(
          platform.config,
          views,
          silentLogger(),
          runnersLookup(new Map([['experiment-metrics', runner]])),
        );
        try {
          const { experiment, figures } = await getExperiment(platform, online, AB.id);
          assert.equal(experiment.id, AB.id);
          assert.equal(figures?.experiment_id, AB.id);
          assert.equal(figures?.control, 'control');
          const byName = Object.fromEntries(figures!.variants.map((v) => [v.name, v]));
          for (const name of ['candidate', 'control']) {
            const v = byName[name]!;
            assert.deepEqual([v.requests, v.impressions, v.clicks], Object.values(counted[name]!));
            assert.ok(v.ctr_ci[0] < v.ctr && v.ctr < v.ctr_ci[1]);
          }
          assert.match(byName.candidate!.verdict!, /^candidate better than control \(always-valid p=/);

          const quiet = await getExperiment(platform, online, QUIET.id);
          assert.equal(quiet.figures, null, 'nothing counted for it: null');
        } finally {
          await online.close();
          await runner.close();
        }

        // A store whose experiment-metrics application runs elsewhere: the experiment alone.
        const elsewhere = await openOnlineStore(
          platform.config,
          views,
          silentLogger(),
          runnersLookup(new Map()),
        );
        try {
          const answer = await getExperiment(platform, elsewhere, AB.id);
          assert.deepEqual(Object.keys(answer), ['experiment']);
        } finally {
          await elsewhere.close();
        }
      },
      { RECSTREAM_LOG_FSYNC: 'never' },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
