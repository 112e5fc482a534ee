/**
 * Training and serving end to end on Kafka, as a user runs them: `recstream`
 * child processes pointed at a go-mokapi Kafka-protocol server (topics from
 * `recstream topics --plan`), `recstream registry serve` and Redis on
 * loopback. simulate → process `features` and `snapshots` → `train --once`
 * (the PyTorch engine on the CPU) reads the training snapshots and examples
 * from Kafka and publishes a promoted ModelVersion there → `index --once`
 * publishes an IndexVersion there → `materialize --once` fills Redis →
 * `recstream serve` answers `GET /v1/recommendations/<user>` with that model
 * and index version. Its topic followers poll offsets while its readers
 * fetch, the load under which go-mokapi now and then answers a ListOffsets
 * without the topic asked about (`runtime/log/kafka/README.md`); the log asks
 * again, and the responder must start and answer regardless.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KafkaLog } from '../../runtime/log/kafka/kafka-log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { testRedis } from '../../runtime/online/redis/redis.fixture.js';
import type { ModelVersion } from '../../schemas/generated/types.js';
import {
  INDEX_VERSIONS_TOPIC,
  MODEL_VERSIONS_TOPIC,
  TRAINING_SNAPSHOTS_TOPIC,
} from '../../schemas/topics.js';
import { finished, runCliOk, startCli } from '../../test/cli.js';
import { startKafkaPlatform } from '../../test/kafka-pipeline.js';
import { missingService } from '../../test/skips.js';

/**
 * A world whose label join closes examples (the default lateness) and whose
 * snapshotter cuts several snapshots per partition, small enough for the CPU
 * engine to train in seconds. The gate lets any model through: the test is
 * about the pipeline on Kafka, `bench quality` about quality.
 */
const WORLD = ['--seed', '12', '--users', '300', '--items', '100', '--days', '4', '--events', '12000'];
const SETTINGS = {
  RECSTREAM_COMMIT_INTERVAL_MS: '50',
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '1000',
  RECSTREAM_TRAIN_CONFIG: JSON.stringify({ epochs: 3, ranker_epochs: 1, dim: 32, threads: 2, refit: false }),
  RECSTREAM_GATE_POPULARITY_MARGIN: '1',
  RECSTREAM_GATE_PREVIOUS_MARGIN: '1',
  RECSTREAM_HTTP_PORT: '0',
};

interface Recommendations {
  readonly items: readonly { item_id: string }[];
  readonly model_version: string | null;
  readonly index_version: string | null;
  readonly fallback: string | null;
}

/** Records of `topic` on the Kafka server, counted from its offsets. */
async function recordsOn(brokers: readonly string[], topic: string): Promise<number> {
  const log = new KafkaLog({ brokers, logger: silentLogger(), idempotent: false });
  try {
    return (await log.offsets(topic)).reduce((sum, p) => sum + p.end - p.start, 0);
  } finally {
    await log.close();
  }
}

/** Starts `recstream serve`, waits for its address, runs `fn` against it, then stops it with SIGTERM. */
async function withServe<T>(
  args: readonly string[],
  env: Record<string, string>,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  const child = startCli(['serve', ...args], env);
  const done = finished(child);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (\S+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once('close', (code) =>
        reject(new Error(`recstream serve exited with ${code} before listening`)),
      );
    });
    return await fn(url);
  } finally {
    child.kill('SIGTERM');
    const result = await done;
    assert.equal(result.code, 0, `recstream serve: ${result.stderr}`);
  }
}

/** GETs recommendations until the responder has loaded the model and index (or 60 s passed). */
async function recommendationsOf(url: string, user: string): Promise<Recommendations> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${url}/v1/recommendations/${user}?k=10`);
    const body = (await res.json()) as Recommendations;
    if ((res.status === 200 && body.model_version !== null) || Date.now() > deadline) {
      assert.equal(res.status, 200, JSON.stringify(body));
      return body;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('on Kafka: train reads snapshots and publishes a model, index publishes an index, serve answers with both', {
  timeout: 300_000,
}, async (t) => {
  const redis = await testRedis(t);
  if (redis === undefined) return;
  const dir = await mkdtemp(join(tmpdir(), 'recstream-kafka-serving-'));
  const data = join(dir, 'data');
  try {
    const platform = await startKafkaPlatform(dir);
    if (typeof platform === 'string') return missingService(t, platform);
    const env = {
      ...platform.env,
      ...SETTINGS,
      RECSTREAM_REDIS_URL: redis.url,
      RECSTREAM_REDIS_KEY_PREFIX: redis.prefix,
    };
    const cli = async (args: readonly string[]) =>
      (await runCliOk([...args, '--data-dir', data], env)).stdout;
    try {
      await cli(['topics', '--plan']);
      await cli(['simulate', ...WORLD]);
      for (const app of ['features', 'snapshots']) await cli(['process', '--app', app, '--once']);

      const snapshots = await recordsOn(platform.brokers, TRAINING_SNAPSHOTS_TOPIC);
      assert.ok(snapshots > 1, `training snapshots on Kafka: ${snapshots}`);

      assert.match(await cli(['train', '--once']), /recstream v1 promoted/);
      assert.equal(
        await recordsOn(platform.brokers, MODEL_VERSIONS_TOPIC),
        1,
        'the ModelVersion is on Kafka',
      );
      const [model] = JSON.parse(await cli(['models', 'list', '--json'])) as ModelVersion[];
      assert.equal(model!.status, 'promoted');
      assert.ok(model!.lineage.length > 0, 'trained on the snapshots read from Kafka');
      assert.match(await cli(['index', '--once']), /items v1 full for recstream v1/);
      assert.ok(
        (await recordsOn(platform.brokers, INDEX_VERSIONS_TOPIC)) >= 1,
        'the IndexVersion is on Kafka',
      );
      await cli(['materialize', '--once']);
      assert.ok((await redis.keys('*:user:*')).length > 0, 'user views in Redis');

      const body = await withServe(['--data-dir', data], env, (url) => recommendationsOf(url, 'u0'));
      assert.equal(body.fallback, null, JSON.stringify(body));
      assert.equal(body.model_version, 'recstream@1');
      assert.equal(body.index_version, 'items@1');
      assert.equal(body.items.length, 10);
    } finally {
      await platform.stop();
    }
  } finally {
    await redis.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
});
