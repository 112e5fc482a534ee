import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { seededRandom } from '../bench/interaction-load.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import type { Interaction, TrainingExample } from '../schemas/generated/types.js';
import { PLATFORM_TOPICS, TRAINING_EXAMPLES_TOPIC } from '../schemas/topics.js';
import { simulatedWorld, writeWorld } from '../test/features-world.js';
import { withScratchLog } from '../test/platform.js';
import { differences, ReferenceFeatures } from '../test/reference-features.js';
import { type FeaturesOptions, featuresTopology } from './features.js';

const PARTITIONS = 4;
const OPTIONS: FeaturesOptions = {
  latenessMs: 600_000,
  labelWindowMs: 1_800_000,
  watermarkIntervalMs: 60_000,
};

test('training examples carry exactly the features recomputed from the raw events strictly before them', {
  timeout: 120_000,
}, async () => {
  await withScratchLog('recstream-pit-', async ({ dir, log, serde }) => {
    const world = simulatedWorld({
      seed: 5,
      users: 250,
      items: 120,
      events: 12_000,
      days: 2,
      latenessMs: OPTIONS.latenessMs,
      partitions: PARTITIONS,
    });
    await writeWorld(log, serde, world, PARTITIONS);
    const runner = await StreamRunner.start({
      topology: await featuresTopology(serde, OPTIONS),
      log,
      stateDir: join(dir, 'state'),
      engine: 'rocksdb',
      deadLetters: avroSerializer(await serde.encoder('rec.dlq-value')),
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
    });
    const stats = await runner.runUntilCaughtUp();
    assert.equal(stats.deadLetters, 0);

    const decoder = await serde.decoder('rec.training-examples-value');
    const examples: TrainingExample[] = [];
    for (const p of await log.offsets(TRAINING_EXAMPLES_TOPIC))
      for (let offset = p.start; offset < p.end; ) {
        const batch = await log.read(TRAINING_EXAMPLES_TOPIC, p.partition, offset, 5000);
        for (const r of batch) examples.push(await decoder.decode(r.value!));
        offset += batch.length;
      }

    const reference = new ReferenceFeatures(world, OPTIONS);
    const events = new Map(world.interactions.map((e) => [e.event_id, e]));

    // Which examples must exist: every interaction of a user not opted out, once every task's watermark passed it.
    const frontier = Math.min(
      ...world.arrivals.map((list) => Math.max(...list.map((e) => e.ts)) - OPTIONS.latenessMs),
    );
    const settled = frontier - OPTIONS.watermarkIntervalMs;
    const eligible = (e: Interaction) => !reference.optedOut(e.user_id, e.ts);
    const mustExist = world.interactions.filter(
      (e) =>
        eligible(e) && (e.type === 'impression' ? e.ts + OPTIONS.labelWindowMs < settled : e.ts < settled),
    );
    const ids = new Set(examples.map((x) => x.example_id));
    assert.equal(ids.size, examples.length, 'one example per interaction');
    assert.deepEqual(
      mustExist
        .filter((e) => !ids.has(e.event_id))
        .map((e) => [e.event_id, e.type, e.ts, e.user_id, e.item_id, settled - e.ts]),
      [],
      'every settled interaction has its example',
    );
    assert.ok(examples.length > 5000, `${examples.length} examples`);
    for (const x of examples) {
      const e = events.get(x.example_id)!;
      assert.ok(eligible(e), `${x.example_id}: user ${x.user_id} opted out`);
      assert.ok(
        (x.user.last_active_ts ?? -1) < x.ts && (x.item.last_interaction_ts ?? -1) < x.ts,
        `nothing from the event itself or later: ${JSON.stringify([x.example_id, x.type, x.ts, x.user.last_active_ts, x.item.last_interaction_ts])}`,
      );
      for (const r of x.user.recent_items) assert.ok(r.ts < x.ts);
    }
    for (const userId of world.optedOutLater) assert.ok(!examples.some((x) => x.user_id === userId));

    const random = seededRandom(17);
    const clicked = examples.filter((x) => x.labels.clicked === true);
    const sample = [...clicked.slice(0, 50), ...examples.filter(() => random() < 300 / examples.length)];
    assert.ok(clicked.length > 0, 'some impressions were clicked');
    assert.ok(sample.length > 250);
    for (const x of sample) {
      const e = events.get(x.example_id)!;
      const labels =
        e.type === 'impression'
          ? (() => {
              const delay = reference.impressionClickDelay(e);
              return {
                label: delay === null ? 0 : 1,
                positive: delay !== null,
                weight: 1,
                rating: null,
                watch_fraction: null,
                clicked: delay !== null,
                click_delay_ms: delay,
              };
            })()
          : reference.labels(e);
      const expected = {
        labels,
        user: reference.userFeatures(e.user_id, e.ts),
        item: reference.itemFeatures(e.item_id, e.ts),
      };
      const found = differences({ labels: x.labels, user: x.user, item: x.item }, expected);
      assert.deepEqual(found, [], `example ${x.example_id} (${e.type} at ${e.ts})`);
    }
  });
});
