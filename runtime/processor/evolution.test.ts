/**
 * Schema evolution end to end: records written under v1 of a subject are
 * processed by a processor built for v2 (one added field with a default),
 * through the log and the runner; an incompatible v3 is refused at
 * registration with a message naming the field.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { platformSerde } from '../../schemas/platform.js';
import { PLATFORM_TOPICS } from '../../schemas/topics.js';
import { StreamRunner } from '../engine/runner.js';
import { IncompatibleSchemaError } from '../errors.js';
import { EmbeddedLog } from '../log/embedded/embedded-log.js';
import { silentLogger } from '../observability/logger.js';
import { openEmbeddedRegistry } from '../registry/embedded/embedded-registry.js';
import { numberCodec } from '../state/codecs/index.js';
import type { KeyValueStore } from '../state/store.js';
import { TaskState } from '../state/task-state.js';
import { avroDeserializer } from './avro-serdes.js';
import type { DeadLetterSerializer } from './dead-letter.js';
import type { Processor, ProcessorContext, StreamRecord } from './processor.js';
import { TopologyBuilder } from './topology.js';

const SUBJECT = 'rec.ratings-value';
const field = (name: string, type: unknown, extra: Record<string, unknown> = {}) => ({
  name,
  type,
  doc: name,
  ...extra,
});
const schema = (fields: unknown[]) => ({
  type: 'record',
  name: 'Rating',
  namespace: 'rec',
  doc: 'A rating.',
  fields,
});
const V1 = schema([field('user_id', 'string'), field('score', 'double')]);
const V2 = schema([
  field('user_id', 'string'),
  field('score', 'double'),
  field('weight', 'double', { default: 0.5 }),
]);
const V3 = schema([
  field('user_id', 'string'),
  field('score', 'double'),
  field('weight', 'double', { default: 0.5 }),
  field('source', 'string'),
]);

interface RatingV2 {
  user_id: string;
  score: number;
  weight: number;
}

class WeightedScore implements Processor<RatingV2> {
  private sums!: KeyValueStore<number>;
  init(ctx: ProcessorContext<never>) {
    this.sums = ctx.store('weighted');
  }
  async process(record: StreamRecord<RatingV2>) {
    const { user_id, score, weight } = record.value;
    this.sums.put(user_id, ((await this.sums.get(user_id)) ?? 0) + score * weight);
  }
}

const letters: DeadLetterSerializer = { serialize: (l) => Buffer.from(JSON.stringify(l)) };

test('a processor built for v2 reads records written under v1 (default applied) and under v2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-evolution-'));
  const registry = await openEmbeddedRegistry({ dataDir: dir });
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.ratings', partitions: 1 });
    const oldProducer = await platformSerde(registry, { schemas: { [SUBJECT]: V1 } }).encoder(SUBJECT);
    await log.append('rec.ratings', [
      { key: 'u1', value: oldProducer.encode({ user_id: 'u1', score: 4 }) },
      { key: 'u2', value: oldProducer.encode({ user_id: 'u2', score: 2 }) },
    ]);

    const v2 = platformSerde(registry, { schemas: { [SUBJECT]: V2 } });
    const newProducer = await v2.encoder(SUBJECT);
    await log.append('rec.ratings', [
      { key: 'u1', value: newProducer.encode({ user_id: 'u1', score: 3, weight: 2 }) },
    ]);
    assert.deepEqual(await registry.listVersions(SUBJECT), [1, 2]);

    const topology = new TopologyBuilder('weighted-scores')
      .addSource('ratings', ['rec.ratings'], avroDeserializer(await v2.decoder(SUBJECT)))
      .addProcessor('weighted', () => new WeightedScore(), ['ratings'])
      .addStore({ name: 'weighted', codec: numberCodec }, ['weighted'])
      .build();
    const options = {
      topology,
      log,
      stateDir: join(dir, 'state'),
      engine: 'rocksdb' as const,
      deadLetters: letters,
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
    };
    const stats = await (await StreamRunner.start(options)).runUntilCaughtUp();
    assert.deepEqual(stats, { processed: 3, deadLetters: 0, commits: stats.commits });

    const state = await TaskState.open({
      dir: join(dir, 'state', '0'),
      engine: 'rocksdb',
      log,
      applicationId: 'weighted-scores',
      partition: 0,
      stores: [{ name: 'weighted', codec: numberCodec, changelogTopic: 'rec.weighted.weighted.changelog' }],
    });
    assert.equal(
      await state.store<number>('weighted').get('u1'),
      4 * 0.5 + 3 * 2,
      'v1 record read with the default weight',
    );
    assert.equal(await state.store<number>('weighted').get('u2'), 2 * 0.5);
    await state.close();
  } finally {
    await log.close();
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('registering an incompatible v3 is refused with a message naming the field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-evolution-'));
  const registry = await openEmbeddedRegistry({ dataDir: dir });
  try {
    await registry.register(SUBJECT, V1);
    await registry.register(SUBJECT, V2);
    await assert.rejects(
      registry.register(SUBJECT, V3),
      (err: unknown) =>
        err instanceof IncompatibleSchemaError &&
        /field 'source'/.test(err.message) &&
        /BACKWARD/.test(err.message),
    );
    assert.deepEqual(await registry.listVersions(SUBJECT), [1, 2], 'nothing was registered');
  } finally {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  }
});
