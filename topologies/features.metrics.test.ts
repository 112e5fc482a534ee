import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { StreamRunner } from '../runtime/engine/runner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { Registry, runtimeMetrics } from '../runtime/observability/metrics.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import type { Topology } from '../runtime/processor/topology.js';
import { PLATFORM_TOPICS } from '../schemas/topics.js';
import { simulatedWorld, writeWorld } from '../test/features-world.js';
import { withScratchLog } from '../test/platform.js';
import { type FeaturesOptions, featuresTopology } from './features.js';
import { snapshotsTopology } from './snapshots.js';

const PARTITIONS = 2;
const OPTIONS: FeaturesOptions = {
  latenessMs: 600_000,
  labelWindowMs: 1_800_000,
  watermarkIntervalMs: 60_000,
};

/** The value of one series of the Prometheus text, or undefined when it is not reported. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    const have = inside.split(',');
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length)
      return Number(line.slice(line.indexOf('}') + 1));
  }
  return undefined;
}

test('the features and snapshots applications report rate, lag, store sizes and dead letters per application', {
  timeout: 60_000,
}, async () => {
  await withScratchLog('recstream-features-metrics-', async ({ dir, log, serde }) => {
    const world = simulatedWorld({
      seed: 4,
      users: 40,
      items: 20,
      events: 1_500,
      days: 1,
      latenessMs: OPTIONS.latenessMs,
      partitions: PARTITIONS,
    });
    await writeWorld(log, serde, world, PARTITIONS);
    await log.append('rec.interactions', [{ key: 'u0', value: Buffer.from('not avro'), partition: 0 }]);
    const registry = new Registry();
    const metrics = runtimeMetrics(registry);
    const run = async (topology: Topology) =>
      (
        await StreamRunner.start({
          topology,
          log,
          stateDir: join(dir, topology.applicationId),
          engine: 'rocksdb',
          deadLetters: avroSerializer(await serde.encoder('rec.dlq-value')),
          topics: PLATFORM_TOPICS,
          logger: silentLogger(),
          metrics,
          commitIntervalMs: 20,
          maxPollRecords: 200,
        })
      ).runUntilCaughtUp();
    const features = await featuresTopology(serde, OPTIONS);
    const snapshots = await snapshotsTopology(serde, { everyExamples: 100, everyMs: 86_400_000 });
    await run(features);
    await run(snapshots);
    const text = await registry.metrics();

    // Rate: records in per application and source topic, records out per sink.
    assert.equal(
      sample(text, 'recstream_records_in_total', {
        application: 'features',
        namespace: 'default',
        topic: 'rec.interactions',
      }),
      world.interactions.length + 1,
    );
    const examples = (await log.offsets('rec.training-examples')).reduce((n, p) => n + p.end, 0);
    assert.ok(examples > 0);
    assert.equal(
      sample(text, 'recstream_records_out_total', {
        application: 'features',
        namespace: 'default',
        topic: 'rec.training-examples',
      }),
      examples,
    );
    assert.equal(
      sample(text, 'recstream_records_in_total', {
        application: 'snapshots',
        namespace: 'default',
        topic: 'rec.training-examples',
      }),
      examples,
    );
    assert.ok(
      (sample(text, 'recstream_records_out_total', {
        application: 'snapshots',
        namespace: 'default',
        topic: 'rec.training-snapshots',
      }) ?? 0) > 0,
    );
    // Lag: every source partition of both applications, zero once caught up.
    for (const topology of [features, snapshots])
      for (const topic of topology.sourceTopics())
        for (let partition = 0; partition < PARTITIONS; partition++)
          assert.equal(
            sample(text, 'recstream_consumer_lag_records', {
              application: topology.applicationId,
              namespace: 'default',
              topic,
              partition: String(partition),
            }),
            0,
            `lag of ${topology.applicationId} on ${topic}/${partition}`,
          );
    // Store sizes: every store of every task.
    for (const topology of [features, snapshots])
      for (const store of topology.stores)
        for (let partition = 0; partition < PARTITIONS; partition++)
          assert.notEqual(
            sample(text, 'recstream_store_entries', {
              application: topology.applicationId,
              namespace: 'default',
              store: store.name,
              partition: String(partition),
            }),
            undefined,
            `size of ${topology.applicationId}/${store.name}/${partition}`,
          );
    const views = [0, 1].map(
      (p) =>
        sample(text, 'recstream_store_entries', {
          application: 'features',
          namespace: 'default',
          store: 'user-view',
          partition: `${p}`,
        })!,
    );
    assert.ok(views[0]! + views[1]! > 0);
    // Dead letters: per application, source topic and error code.
    assert.equal(
      sample(text, 'recstream_dead_letters_total', {
        application: 'features',
        namespace: 'default',
        topic: 'rec.interactions',
        code: 'DESERIALIZATION_FAILED',
      }),
      1,
    );
  });
});
