/**
 * The platform end to end on Kafka, as a user runs it: `recstream` child
 * processes pointed at a go-mokapi Kafka-protocol server (topics declared
 * from `recstream topics --plan`) and at `recstream registry serve`. The same
 * simulation processed there and on the embedded log leaves identical
 * `features` and `interaction-counts` stores, and the interactions on Kafka
 * are Confluent wire-format records that Confluent's own client decodes with
 * the registry server's schema ids.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { KafkaLog } from '../../runtime/log/kafka/kafka-log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { INTERACTIONS_TOPIC } from '../../runtime/topics/catalogue.js';
import {
  type KafkaPlatform,
  PIPELINE_EVENTS,
  PIPELINE_PARTITIONS,
  PIPELINE_SETTINGS,
  singleInstanceDigests,
  startKafkaPlatform,
} from '../../test/kafka-pipeline.js';

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
  const dir = await mkdtemp(join(tmpdir(), 'recstream-kafka-pipeline-'));
  try {
    const platform = await startKafkaPlatform(dir);
    if (typeof platform === 'string') return t.skip(platform);
    try {
      assert.ok(
        platform.topics.some(
          (topic) => topic.name === INTERACTIONS_TOPIC && topic.partitions === PIPELINE_PARTITIONS,
        ),
      );
      const onKafka = await singleInstanceDigests(join(dir, 'kafka'), {
        ...platform.env,
        ...PIPELINE_SETTINGS,
      });
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
      await checkWireFormat(platform);
    } finally {
      await platform.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
