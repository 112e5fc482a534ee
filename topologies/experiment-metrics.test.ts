/**
 * `experiment-metrics` on the embedded log with RocksDB: an A/B test whose
 * candidate's items are clicked at a higher true rate. The figures read
 * through the online store equal a count done from the raw topics, the
 * verdict picks the candidate with significance, bad lists go to the DLQ,
 * and a replay from earliest gives the same stores without writing any
 * experiment event again. The topology is pinned.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { differenceTest } from '../lib/sequential-test.js';
import { loadConfig } from '../runtime/config.js';
import { createProducer } from '../runtime/producer/producer.js';
import { openEmbeddedRegistry } from '../runtime/registry/embedded/embedded-registry.js';
import type { DeadLetter, Experiment } from '../schemas/generated/types.js';
import { platformSerde } from '../schemas/platform.js';
import { experimentTraffic } from '../sim/experiment-traffic.js';
import {
  clickThroughFromTopics,
  countFromTopics,
  metricsRunner,
  PARTITIONS,
  publishWorld,
  RANKER_AB,
  readFigures,
  runExperimentMetrics,
  T0,
  topicValues,
} from '../test/experiments.js';
import { withTestPlatform } from '../test/platform.js';
import { APPLICATIONS } from './index.js';

const AB: Experiment = RANKER_AB;

test('per-variant figures equal a count from the raw topics, the better variant wins with significance, and a replay gives the same stores', {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-experiment-metrics-'));
  try {
    await withTestPlatform(dir, async (platform) => {
      const world = experimentTraffic({
        seed: 11,
        experimentId: AB.id,
        requests: 2400,
        rates: { candidate: 0.07, control: 0.04 },
        start: T0,
        spacingMs: 500,
      });
      // A shadow list of the first request, written just after the shown one as a responder would;
      // then a list outside experiments and a list without its variant.
      world.lists.splice(1, 0, { ...world.lists[0]!, variant: 'shadow', shadow: true, took_ms: 90 });
      await publishWorld(platform, [AB], world);
      const plain = { ...world.lists[1]!, request_id: 'plain', experiment_id: null, variant: null };
      const bad = { ...world.lists[2]!, request_id: 'bad', variant: null };
      const producer = createProducer({
        log: platform.log,
        serde: platform.serde,
        createTopics: { partitions: PARTITIONS },
      });
      await producer.send(
        'rec.recommendations',
        [plain, bad].map((value) => ({ value })),
      );
      await producer.close();

      const stateDir = join(dir, 'state');
      await runExperimentMetrics(platform, stateDir);
      const { report: read, prometheus } = await readFigures(platform, stateDir, AB);
      const report = read!;
      const counted = await countFromTopics(platform, AB.id);
      const figures = Object.fromEntries(
        report.variants.map((v) => [
          v.name,
          { requests: v.requests, impressions: v.impressions, clicks: v.clicks },
        ]),
      );
      assert.deepEqual(figures, { ...counted, shadow: { requests: 1, impressions: 0, clicks: 0 } });
      const candidate = report.variants.find((v) => v.name === 'candidate')!;
      const control = report.variants.find((v) => v.name === 'control')!;
      assert.equal(report.control, 'control');
      assert.equal(control.verdict, null);
      assert.equal(candidate.ctr, counted.candidate!.clicks / counted.candidate!.impressions);
      assert.ok(candidate.ctr_ci[0] < candidate.ctr && candidate.ctr < candidate.ctr_ci[1]);
      assert.ok(candidate.ctr_ci[0] <= 0.07 && 0.07 <= candidate.ctr_ci[1], `${candidate.ctr_ci}`);
      assert.ok(candidate.p_value! <= 0.05, `p ${candidate.p_value}`);
      assert.match(candidate.verdict!, /^candidate better than control \(always-valid p=/);
      assert.ok(candidate.ctr_diff_ci![0] > 0);
      // The sums over users the test's variance reads equal those counted per user from the raw topics.
      const byUser = await clickThroughFromTopics(platform, AB.id);
      for (const v of [candidate, control]) assert.equal(v.users, byUser[v.name]!.units!.count, v.name);
      const recounted = differenceTest(byUser.control!, byUser.candidate!)!;
      assert.ok(recounted.interval.every((x, i) => Math.abs(x - candidate.ctr_diff_ci![i]!) < 1e-12));
      assert.ok(candidate.engaged_ms > control.engaged_ms);
      assert.ok(
        candidate.latency_p99_ms! >= 20 && candidate.latency_p99_ms! <= 30,
        `${candidate.latency_p99_ms}`,
      );
      const shadowRow = report.variants.find((v) => v.name === 'shadow')!;
      assert.equal(shadowRow.overlap_jaccard, 1, 'the shadow list repeats the shown one');
      assert.equal(shadowRow.latency_p99_ms, 105.879, 'the bucket holding 90 ms ends there');

      assert.match(
        prometheus,
        new RegExp(
          `^recstream_experiment_clicks\\{experiment="ranker-ab",variant="candidate"\\} ${candidate.clicks}$`,
          'm',
        ),
      );
      assert.match(
        prometheus,
        /^recstream_experiment_p_value\{experiment="ranker-ab",variant="candidate"\} /m,
      );

      const dead = await topicValues<DeadLetter>(platform, 'rec.dlq', 'rec.dlq-value');
      assert.deepEqual(
        dead.map((d) => [d.source_topic, d.processor, d.error_message]),
        [
          [
            'rec.recommendations',
            'experiment-attribution',
            'served list "bad": experiment_id "ranker-ab" without a variant',
          ],
        ],
      );

      const live = await metricsRunner(platform, stateDir);
      const expected = await live.digest();
      await live.close();
      const replayDir = join(dir, 'replay');
      await runExperimentMetrics(platform, replayDir);
      const replay = await metricsRunner(platform, replayDir);
      assert.deepEqual(await replay.digest(), expected);
      await replay.close();
      assert.equal((await topicValues(platform, 'rec.experiments', 'rec.experiments-value')).length, 1);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the experiment-metrics topology is wired as documented (describe() pinned)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-experiment-metrics-describe-'));
  const registry = await openEmbeddedRegistry({ dataDir: dir });
  try {
    const topology = await APPLICATIONS['experiment-metrics']!(platformSerde(registry), loadConfig({}));
    assert.equal(
      String(topology.describe()),
      [
        'Topology: experiment-metrics',
        '    Source: served-lists (topics: [rec.recommendations])',
        '      --> experiment-attribution',
        '    Processor: experiment-attribution (stores: [experiment-requests, experiment-pending, experiment-clock])',
        '      --> experiment-outcomes',
        '      <-- served-lists, interactions',
        '    Sink: experiment-outcomes (topic: rec.experiment-outcomes)',
        '      <-- experiment-attribution',
        '    Source: interactions (topics: [rec.interactions])',
        '      --> experiment-attribution',
        '    Source: outcomes (topics: [rec.experiment-outcomes])',
        '      --> experiment-figures',
        '    Processor: experiment-figures (stores: [experiment-figures, experiment-user-figures, outcome-ids])',
        '      --> experiments, model-versions',
        '      <-- outcomes',
        '    Sink: experiments (topic: rec.experiments)',
        '      <-- experiment-figures',
        '    Sink: model-versions (topic: rec.model-versions)',
        '      <-- experiment-figures',
        '  Stores:',
        '    experiment-requests (owner: experiment-attribution, changelog: rec.experiment-attribution.experiment-requests.changelog)',
        '    experiment-pending (owner: experiment-attribution, changelog: rec.experiment-attribution.experiment-pending.changelog)',
        '    experiment-clock (owner: experiment-attribution, changelog: rec.experiment-attribution.experiment-clock.changelog)',
        '    experiment-figures (owner: experiment-figures, changelog: rec.experiment-figures.experiment-figures.changelog)',
        '    experiment-user-figures (owner: experiment-figures, changelog: rec.experiment-figures.experiment-user-figures.changelog)',
        '    outcome-ids (owner: experiment-figures, changelog: rec.experiment-figures.outcome-ids.changelog)',
        '  Global tables:',
        '    experiment-versions (topic: rec.experiments, all partitions)',
        '    model-version-events (topic: rec.model-versions, all partitions)',
      ].join('\n'),
    );
  } finally {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  }
});
