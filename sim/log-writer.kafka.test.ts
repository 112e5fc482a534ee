/**
 * The simulator writes through whichever log is configured: the same world
 * written to Kafka (a go-mokapi server on loopback) and to the embedded log
 * gives the same records at the same offsets of the same partitions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EmbeddedLog } from '../runtime/log/embedded/embedded-log.js';
import { KafkaLog } from '../runtime/log/kafka/kafka-log.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { openEmbeddedRegistry } from '../runtime/registry/embedded/embedded-registry.js';
import { platformSerde } from '../schemas/platform.js';
import { INTERACTIONS_TOPIC, ITEMS_TOPIC, USERS_TOPIC } from '../schemas/topics.js';
import { startKafkaServer } from '../test/kafka-server.js';
import { missingService } from '../test/skips.js';
import { writeSimulation } from './log-writer.js';
import { topicDigests } from './testing.js';

const PARTITIONS = 2;
const TOPICS = [ITEMS_TOPIC, USERS_TOPIC, INTERACTIONS_TOPIC];
const OPTIONS = { seed: 4, users: 300, items: 100, events: 4000, days: 3 };

const server = await startKafkaServer({ topics: TOPICS.map((name) => ({ name, partitions: PARTITIONS })) });

if (typeof server === 'string') {
  test('the simulation writes the same records to Kafka as to the embedded log', (t) => {
    missingService(t, server);
  });
} else {
  after(() => server.stop());
  test('the simulation writes the same records to Kafka as to the embedded log', {
    timeout: 120_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recstream-sim-kafka-'));
    const registry = { dataDir: dir };
    const embeddedRegistry = await openEmbeddedRegistry(registry);
    const serde = platformSerde(embeddedRegistry);
    const embedded = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
    // go-mokapi 0.52 rejects a producer's second multi-record batch when idempotence is on (runtime/log/kafka/README.md).
    const kafka = new KafkaLog({ brokers: server.brokers, logger: silentLogger(), idempotent: false });
    try {
      const onKafka = await writeSimulation(
        OPTIONS,
        { log: kafka, serde, registry },
        { partitions: PARTITIONS, batchSize: 500 },
      );
      const onEmbedded = await writeSimulation(
        OPTIONS,
        { log: embedded, serde, registry },
        { partitions: PARTITIONS },
      );
      assert.equal(onKafka.interactions, OPTIONS.events);
      assert.deepEqual(
        { items: onKafka.items, users: onKafka.users },
        { items: onEmbedded.items, users: onEmbedded.users },
      );
      assert.deepEqual(await topicDigests(kafka, TOPICS), await topicDigests(embedded, TOPICS));
    } finally {
      await kafka.close();
      await embedded.close();
      await embeddedRegistry.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
