/**
 * `recstream experiments show` on the embedded default with real figures:
 * a seeded A/B world (served lists and the interactions that carry their
 * request ids) on the log, `recstream process --app experiment-metrics
 * --once` over it, then `show` as an operator runs it. The click-through it
 * prints per variant equals a count done here from the raw topics, and the
 * verdict names the better variant. Beside a running `process` the stores
 * on disk are held: show says where to read the figures, and reads them from
 * Redis once `materialize` copied them there.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { testRedis } from '../../runtime/online/redis/redis.fixture.js';
import type { Experiment } from '../../schemas/generated/types.js';
import { experimentTraffic } from '../../sim/experiment-traffic.js';
import { finished, runCliOk, startCli } from '../../test/cli.js';
import { countFromTopics, publishWorld, RANKER_AB, T0 } from '../../test/experiments.js';
import { withTestPlatform } from '../../test/platform.js';

const ENV = { RECSTREAM_LOG_FSYNC: 'never' };

const AB: Experiment = RANKER_AB;

let dataDir: string;
let counted: Record<string, { requests: number; impressions: number; clicks: number }>;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'recstream-experiments-show-'));
  counted = await withTestPlatform(
    dataDir,
    async (platform) => {
      const world = experimentTraffic({
        seed: 5,
        experimentId: AB.id,
        requests: 2000,
        rates: { candidate: 0.08, control: 0.04 },
        start: T0,
        spacingMs: 500,
      });
      await publishWorld(platform, [AB], world);
      return countFromTopics(platform, AB.id);
    },
    ENV,
  );
  await runCliOk(['process', '--app', 'experiment-metrics', '--once', '--data-dir', dataDir], ENV);
});

after(() => rm(dataDir, { recursive: true, force: true }));

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

test("show prints each variant's online figures: the CTR a count of the raw topics gives, and the verdict naming the better variant", {
  timeout: 120_000,
}, async () => {
  const shown = await runCliOk(['experiments', 'show', AB.id, '--data-dir', dataDir], ENV);
  assert.match(
    shown.stdout,
    /^variant\s+model\s+share\s+requests\s+impressions\s+clicks\s+ctr \[interval\]\s+engaged s\/req\s+fallback\s+p99 ms\s+verdict$/m,
  );
  for (const name of ['candidate', 'control']) {
    const c = counted[name]!;
    const row = shown.stdout.split('\n').find((line) => line.startsWith(`${name} `));
    assert.ok(row, `a row for ${name} in\n${shown.stdout}`);
    const cells = row.split(/\s{2,}/);
    assert.equal(cells[3], c.requests.toLocaleString('en-US'));
    assert.equal(cells[4], c.impressions.toLocaleString('en-US'));
    assert.equal(cells[5], c.clicks.toLocaleString('en-US'));
    assert.match(
      cells[6]!,
      new RegExp(`^${pct(c.clicks / c.impressions)} \\[\\d+\\.\\d\\d%, \\d+\\.\\d\\d%\\]$`),
    );
    assert.match(cells[8]!, /^\d+\.\d\d%$/, 'the fallback rate');
    assert.match(cells[9]!, /^\d+\.\d$/, 'the p99 latency');
  }
  assert.match(shown.stdout, /^control\s.*\(control\)$/m);
  assert.match(shown.stdout, /^candidate\s.*candidate better than control \(always-valid p=/m);

  const json = JSON.parse(
    (await runCliOk(['experiments', 'show', AB.id, '--json', '--data-dir', dataDir], ENV)).stdout,
  );
  assert.equal(json.experiment.id, AB.id);
  for (const name of ['candidate', 'control']) {
    const f = json.figures[name];
    const c = counted[name]!;
    assert.deepEqual([f.requests, f.impressions, f.clicks], [c.requests, c.impressions, c.clicks]);
    assert.equal(f.ctr, c.clicks / c.impressions);
    assert.ok(f.ctr_ci[0] < f.ctr && f.ctr < f.ctr_ci[1]);
  }
  assert.ok(json.figures.candidate.p_value <= 0.05, `p ${json.figures.candidate.p_value}`);
  assert.equal(json.unavailable, undefined);
});

test('beside a running process: the figures are unavailable from disk, and read from Redis after materialize', {
  timeout: 120_000,
}, async (t) => {
  const redis = await testRedis(t);
  if (redis === undefined) return;
  const withRedis = { ...ENV, RECSTREAM_REDIS_URL: redis.url, RECSTREAM_REDIS_KEY_PREFIX: redis.prefix };
  try {
    await runCliOk(
      ['materialize', '--once', '--views', 'experiment_figures', '--data-dir', dataDir],
      withRedis,
    );
    const processor = startCli(['process', '--app', 'experiment-metrics', '--data-dir', dataDir], ENV);
    const processorDone = finished(processor);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const fromDisk = await runCliOk(['experiments', 'show', AB.id, '--data-dir', dataDir], ENV);
      assert.match(fromDisk.stdout, /^candidate\s+two-tower@4\s+50%\s+-\s+-/m);
      assert.match(
        fromDisk.stdout,
        /^figures unavailable here: .*locked by running process.* GET \/admin\/experiments\/ranker-ab .*RECSTREAM_REDIS_URL/m,
      );

      const fromRedis = JSON.parse(
        (await runCliOk(['experiments', 'show', AB.id, '--json', '--data-dir', dataDir], withRedis)).stdout,
      );
      for (const name of ['candidate', 'control']) {
        const f = fromRedis.figures[name];
        const c = counted[name]!;
        assert.deepEqual([f.requests, f.impressions, f.clicks], [c.requests, c.impressions, c.clicks]);
      }
      assert.match(fromRedis.figures.candidate.verdict, /^candidate better than control/);
    } finally {
      processor.kill('SIGTERM');
      await processorDone;
    }
  } finally {
    await redis.cleanup();
  }
});
