/**
 * The platform end to end on Kafka, as a user runs it: `recstream` child
 * processes pointed at a go-mokapi Kafka-protocol server (topics declared
 * from `recstream topics --plan`) and at `recstream registry serve`. The same
 * simulation processed there and on the embedded log leaves identical
 * `features` and `interaction-counts` stores, `recstream materialize` copies
 * them into Redis on loopback with the same keys and values from either log,
 * and the interactions on Kafka are Confluent wire-format records that
 * Confluent's own client decodes with the registry server's schema ids.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { KafkaLog } from '../../runtime/log/kafka/kafka-log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { type TestRedis, testRedis } from '../../runtime/online/redis/redis.fixture.js';
import { INTERACTIONS_TOPIC } from '../../schemas/topics.js';
import { runCliOk } from '../../test/cli.js';
import {
  type KafkaPlatform,
  PIPELINE_EVENTS,
  PIPELINE_PARTITIONS,
  PIPELINE_SETTINGS,
  singleInstanceDigests,
  startKafkaPlatform,
} from '../../test/kafka-pipeline.js';
import { missingService } from '../../test/skips.js';

/**
 * `recstream materialize --once` of `data` into `redis`'s prefix, then what
 * the active namespace holds: entity key (prefix left out) → view → value
 * bytes (base64). The versions beside each value (`view@v`) and the progress
 * hash are changelog offsets, which depend on when each back-end's commits
 * fell, so they are left out; the values are what responders read.
 */
async function materialized(
  data: string,
  env: Record<string, string>,
  redis: TestRedis,
): Promise<Record<string, Record<string, string>>> {
  await runCliOk(['materialize', '--once', '--data-dir', data], {
    ...env,
    RECSTREAM_REDIS_URL: redis.url,
    RECSTREAM_REDIS_KEY_PREFIX: redis.prefix,
  });
  const out: Record<string, Record<string, string>> = {};
  for (const key of await redis.keys('default:*')) {
    if (key.endsWith(':progress') || key.endsWith(':lease')) continue;
    const fields = await redis.client.hgetallBuffer(key);
    out[key.slice(redis.prefix.length + 1)] = Object.fromEntries(
      Object.entries(fields)
        .filter(([field]) => !field.endsWith('@v'))
        .map(([field, value]) => [field, value.toString('base64')]),
    );
  }
  return out;
}

async function checkWireFormat(platform: KafkaPlatform): Promise<void> {
  const confluent = new SchemaRegistry({ host: platform.registryUrl });
  const id = await confluent.getLatestSchemaId(`${INTERACTIONS_TOPIC}-value`);
  const log = new KafkaLog({ brokers: platform.brokers, logger: silentLogger(), idempotent: false });
  let records = 0;
  try {
    for (const { partition, start, end } of await log.offsets(INTERACTIONS_TOPIC)) {
      for (let offset = start; offset < end; ) {
        const batch = await log.read(INTERACTIONS_TOPIC, partition, offset, 1000);
        for (const record of batch) {
          const value = record.value!;
          assert.equal(value[0], 0, 'Confluent magic byte');
          assert.equal(value.readInt32BE(1), id, 'the registry server’s schema id');
          const event = (await confluent.decode(value)) as { user_id: string; event_id: string; ts: number };
          assert.equal(event.user_id, record.key, 'keyed by user_id');
          assert.equal(event.ts, record.timestamp, 'the event time is the record timestamp');
          records++;
        }
        offset = batch.at(-1)!.offset + 1;
      }
    }
  } finally {
    await log.close();
  }
  assert.equal(records, PIPELINE_EVENTS);
}

test('the same simulation processed on Kafka and on the embedded log leaves identical stores', {
  timeout: 300_000,
}, async (t) => {
  const onKafkaRedis = await testRedis(t);
  if (onKafkaRedis === undefined) return;
  const embeddedRedis = await testRedis(t);
  if (embeddedRedis === undefined) {
    await onKafkaRedis.cleanup();
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'recstream-kafka-pipeline-'));
  try {
    const platform = await startKafkaPlatform(dir);
    if (typeof platform === 'string') return missingService(t, platform);
    try {
      assert.ok(
        platform.topics.some(
          (topic) => topic.name === INTERACTIONS_TOPIC && topic.partitions === PIPELINE_PARTITIONS,
        ),
      );
      const kafkaEnv = { ...platform.env, ...PIPELINE_SETTINGS };
      const onKafka = await singleInstanceDigests(join(dir, 'kafka'), kafkaEnv);
      const embedded = await singleInstanceDigests(join(dir, 'embedded'), PIPELINE_SETTINGS);
      assert.ok(
        Object.keys(onKafka).some((store) => store.startsWith('features/item-view/')),
        'features stores digested',
      );
      assert.ok(
        Object.keys(onKafka).some((store) => store.startsWith('interaction-counts/counts/')),
        'interaction counts digested',
      );
      assert.deepEqual(onKafka, embedded);

      const onlineFromKafka = await materialized(join(dir, 'kafka'), kafkaEnv, onKafkaRedis);
      const onlineFromEmbedded = await materialized(join(dir, 'embedded'), PIPELINE_SETTINGS, embeddedRedis);
      for (const entity of ['user', 'item'])
        assert.ok(
          Object.keys(onlineFromKafka).some((key) => key.startsWith(`default:${entity}:`)),
          `${entity} views materialized`,
        );
      assert.deepEqual(onlineFromKafka, onlineFromEmbedded);
      await checkWireFormat(platform);
    } finally {
      await platform.stop();
    }
  } finally {
    await onKafkaRedis.cleanup();
    await embeddedRedis.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
});
