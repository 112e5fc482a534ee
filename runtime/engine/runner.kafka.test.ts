/**
 * The same topology over both log back-ends gives the same stores: the
 * interaction-counts application runs once on the embedded log and once on
 * KafkaLog against a Kafka-protocol server (go-mokapi) on loopback, and the
 * state digests must be equal. Processors never know which back-end ran.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { interactionStream } from '../../bench/interaction-load.js';
import { platformSerde } from '../../schemas/platform.js';
import { DLQ_TOPIC, INTERACTIONS_TOPIC, PLATFORM_TOPICS } from '../../schemas/topics.js';
import { startKafkaServer } from '../../test/kafka-server.js';
import { missingService } from '../../test/skips.js';
import { interactionCountsTopology } from '../../topologies/interaction-counts.js';
import { EmbeddedLog } from '../log/embedded/embedded-log.js';
import { KafkaLog } from '../log/kafka/kafka-log.js';
import type { EventLog } from '../log/log.js';
import { silentLogger } from '../observability/logger.js';
import { avroSerializer } from '../processor/avro-serdes.js';
import { openEmbeddedRegistry } from '../registry/embedded/embedded-registry.js';
import type { Serde } from '../serde/serde.js';
import { StreamRunner } from './runner.js';

const PARTITIONS = 2;
const EVENTS = 3_000;
const CHANGELOG = 'rec.interaction-counts.counts.changelog';

const server = await startKafkaServer({
  topics: [
    { name: INTERACTIONS_TOPIC, partitions: PARTITIONS },
    { name: CHANGELOG, partitions: PARTITIONS },
    { name: DLQ_TOPIC, partitions: 1 },
  ],
});

async function runOn(log: EventLog, dir: string, serde: Serde): Promise<Record<string, string>> {
  await log.ensureTopic({ name: INTERACTIONS_TOPIC, partitions: PARTITIONS });
  const encoder = await serde.encoder('rec.interactions-value');
  const events = [...interactionStream({ seed: 11, users: 200, items: 100, count: EVENTS })];
  for (let i = 0; i < events.length; i += 500) {
    await log.append(
      INTERACTIONS_TOPIC,
      events.slice(i, i + 500).map((e) => ({ key: e.user_id, value: encoder.encode(e), timestamp: e.ts })),
    );
  }
  const options = {
    topology: await interactionCountsTopology(serde),
    log,
    stateDir: join(dir, 'state'),
    engine: 'rocksdb' as const,
    deadLetters: avroSerializer(await serde.encoder('rec.dlq-value')),
    topics: PLATFORM_TOPICS,
    logger: silentLogger(),
  };
  const stats = await (await StreamRunner.start(options)).runUntilCaughtUp();
  assert.equal(stats.processed, EVENTS);
  const reopened = await StreamRunner.start(options);
  try {
    return await reopened.digest();
  } finally {
    await reopened.close();
  }
}

if (typeof server === 'string') {
  test('interaction-counts gives equal stores on the embedded log and on Kafka', (t) => {
    missingService(t, server);
  });
} else {
  after(() => server.stop());
  test('interaction-counts gives equal stores on the embedded log and on Kafka', {
    timeout: 120_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recstream-backends-'));
    const registry = await openEmbeddedRegistry({ dataDir: dir });
    const serde = platformSerde(registry);
    const embedded = await EmbeddedLog.open(join(dir, 'embedded'), {
      fsync: 'never',
      maintenanceIntervalMs: 0,
    });
    // go-mokapi 0.52 rejects a producer's second multi-record batch when idempotence is on (runtime/log/kafka/README.md).
    const kafka = new KafkaLog({ brokers: server.brokers, logger: silentLogger(), idempotent: false });
    try {
      const onEmbedded = await runOn(embedded, join(dir, 'e'), serde);
      const onKafka = await runOn(kafka, join(dir, 'k'), serde);
      assert.equal(Object.keys(onKafka).length, 2 * PARTITIONS, 'stores counts and event-ids, per partition');
      assert.deepEqual(onKafka, onEmbedded);
    } finally {
      await kafka.close();
      await embedded.close();
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
