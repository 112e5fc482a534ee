/**
 * The bad canary on a live stream, end to end on Kafka: the served world
 * built by `recstream` commands on a go-mokapi Kafka-protocol server with
 * `recstream registry serve` (simulate → features → snapshots → train →
 * index), then the real responder, trainer, indexer, experiment-metrics
 * application and closed-loop users of `test/live-canary.ts`, all on that
 * server. A candidate trained badly is rolled back by itself at its first
 * step, with every request answered, as on the embedded log
 * (`canary.e2e.test.ts`).
 *
 * Applications commit once a second here rather than every 50 ms: a
 * commit also commits the group offsets that moved, and go-mokapi can die
 * of a data race in its lag metric on any OffsetCommit
 * (runtime/log/kafka/README.md). When it dies of that race, and only of
 * that, the scenario runs once more on a fresh server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { runCliOk } from '../../test/cli.js';
import { startKafkaPlatform } from '../../test/kafka-pipeline.js';
import { mokapiLagMetricRace } from '../../test/kafka-server.js';
import { type LiveCanary, rollOutBadCandidate, startLiveCanary } from '../../test/live-canary.js';
import { buildServedWorld } from '../../test/served-world.js';
import { missingService } from '../../test/skips.js';

const SETTINGS = { RECSTREAM_COMMIT_INTERVAL_MS: '1000' };

/** The whole scenario on a fresh platform: 'passed', 'skipped', or the test server's crash line. */
async function rollBackOnKafka(t: TestContext): Promise<'passed' | 'skipped' | { crashed: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-canary-kafka-'));
  const dataDir = join(dir, 'data');
  try {
    const platform = await startKafkaPlatform(dir);
    if (typeof platform === 'string') {
      missingService(t, platform);
      return 'skipped';
    }
    const env = { ...platform.env, ...SETTINGS };
    let live: LiveCanary | undefined;
    // The first error is the one to read: closing a stream that broke fails too.
    let failure: unknown;
    try {
      await runCliOk(['topics', '--plan', '--data-dir', dataDir], env);
      await buildServedWorld(dataDir, { env });
      live = await startLiveCanary(dataDir, env);
      console.log(`bad canary on Kafka: ${await rollOutBadCandidate(live, 2)}`);
    } catch (error) {
      failure = error;
      console.log(`go-mokapi's last lines:\n${platform.logs().slice(-4000)}`);
    }
    await live?.close().catch((error: unknown) => {
      failure ??= error;
    });
    const crash = mokapiLagMetricRace(platform.logs());
    await platform.stop();
    if (failure === undefined) return 'passed';
    if (crash !== undefined) return { crashed: crash };
    throw failure;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('on Kafka: a bad candidate is rolled back by itself at its first step, with every request answered', {
  timeout: 1_200_000,
}, async (t) => {
  const first = await rollBackOnKafka(t);
  if (typeof first === 'string') return;
  // The test server, not the platform, died: the scenario runs once more on a fresh one.
  console.log(`go-mokapi died of its lag-metric race (${first.crashed}); running the scenario again`);
  const second = await rollBackOnKafka(t);
  if (typeof second !== 'string')
    throw new Error(`go-mokapi died of its lag-metric race twice: ${second.crashed}`);
});
