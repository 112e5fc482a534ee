import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { createProducer } from '../../runtime/producer/producer.js';
import type { Experiment } from '../../schemas/generated/types.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { EXPERIMENTS_TOPIC } from '../../schemas/topics.js';
import { ExperimentRegistry, publishExperiments } from './experiment-registry.js';
import { experimentFromJson } from './validate-experiment.js';

async function withPlatform(fn: (platform: Platform) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-experiments-'));
  const platform = await openPlatform(
    loadConfig({ RECSTREAM_LOG_FSYNC: 'never', RECSTREAM_PARTITIONS: '3' }, { dataDir }),
    { logger: silentLogger() },
  );
  try {
    await fn(platform);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function experiment(id: string, now: number, slice: [number, number] = [0, 1]): Experiment {
  return experimentFromJson(
    {
      id,
      salt: `salt-${id}`,
      traffic_start: slice[0],
      traffic_end: slice[1],
      variants: [
        { name: 'candidate', model: 'recstream@2', share: 0.05 },
        { name: 'control', model: 'promoted', share: 0.95 },
      ],
      canary: { candidate: 'candidate', steps: [0.05, 0.25, 1] },
      guardrails: [{ metric: 'ctr', tolerance: 0.05 }],
    },
    now,
  );
}

test('an empty or missing topic folds to no experiment', async () => {
  await withPlatform(async ({ log, serde }) => {
    const registry = await ExperimentRegistry.load(log, serde);
    assert.deepEqual(registry.all(), []);
    assert.deepEqual(registry.running(), []);
    assert.equal(registry.get('nope'), undefined);
  });
});

test('published states fold in log order: the newest per id wins, running() holds the running ones', async () => {
  await withPlatform(async (platform) => {
    const a = experiment('a', 1, [0, 0.5]);
    const b = experiment('b', 2, [0.5, 1]);
    await publishExperiments(platform, [a, b]);
    const grown = { ...a, variants: a.variants.map((v, i) => ({ ...v, share: i === 0 ? 0.25 : 0.75 })) };
    const stepped = { ...grown, canary: { ...a.canary!, step: 1, step_started_ts: 3 }, updated_ts: 3 };
    await publishExperiments(platform, [stepped, { ...b, status: 'stopped', reason: 'done', updated_ts: 4 }]);

    const registry = await ExperimentRegistry.load(platform.log, platform.serde);
    assert.deepEqual(
      registry.all().map((e) => [e.id, e.status]),
      [
        ['a', 'running'],
        ['b', 'stopped'],
      ],
    );
    // The Avro round trip keeps every field, the canary plan and the nullable ones included.
    assert.deepEqual(registry.get('a'), stepped);
    assert.equal(registry.get('b')?.reason, 'done');
    assert.deepEqual(
      registry.running().map((e) => e.id),
      ['a'],
    );
    assert.equal(registry.running(), registry.running(), 'the same array until the next change');
  });
});

test('a tombstone forgets the id; a later state brings it back', async () => {
  await withPlatform(async (platform) => {
    await publishExperiments(platform, [experiment('gone', 1), experiment('kept', 1)]);
    const producer = createProducer({
      log: platform.log,
      serde: platform.serde,
      createTopics: { partitions: platform.config.partitions },
    });
    await producer.deliver(EXPERIMENTS_TOPIC, [{ key: 'gone', value: null }]);
    await producer.close();
    const registry = await ExperimentRegistry.load(platform.log, platform.serde);
    assert.equal(registry.get('gone'), undefined);
    assert.deepEqual(
      registry.running().map((e) => e.id),
      ['kept'],
    );

    await publishExperiments(platform, [experiment('gone', 5)]);
    const again = await ExperimentRegistry.load(platform.log, platform.serde);
    assert.equal(again.get('gone')?.created_ts, 5);
    assert.equal(again.running().length, 2);
  });
});

test('apply and forget fold in memory as records do (what a responder following the topic does)', () => {
  const registry = new ExperimentRegistry();
  registry.apply(experiment('x', 1));
  const before = registry.running();
  registry.apply({ ...experiment('x', 1), status: 'concluded', updated_ts: 2 });
  assert.notEqual(registry.running(), before);
  assert.deepEqual(registry.running(), []);
  assert.equal(registry.get('x')?.status, 'concluded');
  registry.forget('x');
  assert.deepEqual(registry.all(), []);
});
