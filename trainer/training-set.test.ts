/**
 * The trainer's training set over a real pipeline: simulate → features →
 * snapshots, then repeated outputs (a crash's re-emitted examples, a
 * replay of `features` with its new generation) and an opt-out that comes
 * after the user's snapshots closed. Each example_id must be trained on
 * once, from its newest copy, and the opted-out user must be absent from
 * the files the engine reads.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpy } from '../inference/npy.js';
import { readRange } from '../registry/topic-reader.js';
import { createProducer } from '../runtime/producer/producer.js';
import { parseAvroType } from '../runtime/serde/avro.js';
import type { TrainingExample } from '../schemas/generated/types.js';
import { loadSchema } from '../schemas/index.js';
import { TRAINING_EXAMPLES_TOPIC } from '../schemas/topics.js';
import { runCliOk } from '../test/cli.js';
import { withTestPlatform } from '../test/platform.js';
import { writeDataset } from './dataset-writer.js';
import { gatherTrainingSet, readSnapshots } from './training-set.js';

const ENV = {
  RECSTREAM_COMMIT_INTERVAL_MS: '50',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '1500',
};
const cli = async (args: string[]) => (await runCliOk(args, ENV)).stdout;

/** Every example id in the snapshots' lineage, with the user of each. */
async function lineageIds(dataDir: string): Promise<{ copies: number; users: Map<string, string> }> {
  return withTestPlatform(dataDir, async ({ log, serde }) => {
    const decoder = await serde.decoder('rec.training-examples-value');
    const users = new Map<string, string>();
    let copies = 0;
    for (const snapshot of await readSnapshots(log, serde))
      for (const r of snapshot.ranges) {
        const skip = new Set(r.excluded_offsets);
        for await (const record of readRange(log, r.topic, r.partition, r.start_offset, r.end_offset)) {
          if (skip.has(record.offset)) continue;
          const example = await decoder.decode(record.value!);
          copies++;
          users.set(example.example_id, example.user_id);
        }
      }
    return { copies, users };
  });
}

test('each example_id is trained on once despite crash repeats and a features replay; a later opt-out removes the user', {
  timeout: 240_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-training-set-'));
  const dataDir = join(root, 'data');
  try {
    await cli([
      'simulate',
      '--users',
      '200',
      '--items',
      '80',
      '--events',
      '8000',
      '--seed',
      '3',
      '--days',
      '3',
      '--data-dir',
      dataDir,
    ]);
    for (const app of ['features', 'snapshots'])
      await cli(['process', '--app', app, '--once', '--data-dir', dataDir]);

    // A crash's repeat: the last 300 examples of partition 0 appended again, byte for byte.
    await withTestPlatform(dataDir, async ({ log }) => {
      const [p0] = await log.offsets(TRAINING_EXAMPLES_TOPIC);
      const tail = await log.read(TRAINING_EXAMPLES_TOPIC, 0, p0!.end - 300, 300);
      await log.append(
        TRAINING_EXAMPLES_TOPIC,
        tail.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, partition: 0 })),
      );
    });
    // A new generation: features replayed from earliest, its examples cut into new snapshots.
    await cli(['replay', '--processor', 'features', '--from', 'earliest', '--data-dir', dataDir]);
    await cli(['process', '--app', 'snapshots', '--once', '--data-dir', dataDir]);

    const before = await lineageIds(dataDir);
    assert.ok(
      before.copies > before.users.size + 300,
      `${before.copies} copies of ${before.users.size} examples`,
    );

    // An opt-out after every snapshot holding the user's examples closed.
    const optingOut = [...before.users.values()][0]!;
    await withTestPlatform(dataDir, async ({ log, serde }) => {
      const producer = createProducer({ log, serde, createTopics: { partitions: 1 } });
      await producer.deliver('rec.users', [
        {
          value: {
            user_id: optingOut,
            country: null,
            language: null,
            age_bucket: null,
            signup_ts: 0,
            opt_out: true,
            updated_ts: Date.now(),
          },
        },
      ]);
      await producer.close();
    });

    await withTestPlatform(dataDir, async ({ log, serde }) => {
      const set = await gatherTrainingSet({ log, serde, windowDays: 0 });
      const expected = [...before.users].filter(([, user]) => user !== optingOut).map(([id]) => id);
      assert.equal(new Set(set.exampleIds).size, set.exampleIds.length, 'an example_id appears twice');
      assert.deepEqual([...set.exampleIds].sort(), expected.sort());
      assert.ok(set.stats.optedOut > 0);
      assert.equal(set.stats.duplicates + set.stats.optedOut + set.exampleIds.length, before.copies);

      const manifest = await writeDataset(set, join(root, 'dataset'));
      assert.equal(manifest.examples, expected.length);
      assert.ok(!manifest.vocabularies.user.includes(optingOut), 'the opted-out user is in the vocabulary');
      const users = readNpy(await readFile(join(root, 'dataset', 'user.npy')), 'user.npy');
      assert.equal(users.shape[0], expected.length);
      assert.ok(!Array.from(users.data as BigInt64Array).some((u) => u === 0n), 'a row has no known user');
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the newest copy of an example_id wins: a changed second copy replaces the first', {
  timeout: 60_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-newest-copy-'));
  try {
    await withTestPlatform(root, async ({ log, serde }) => {
      const example = parseAvroType(loadSchema('rec.training-examples-value', 1)).fromString(
        await readFile(
          new URL('../../schemas/rec.training-examples-value/fixtures/v1.json', import.meta.url),
          'utf8',
        ),
      ) as TrainingExample;
      const encoder = await serde.encoder('rec.training-examples-value');
      await log.ensureTopic({ name: TRAINING_EXAMPLES_TOPIC, partitions: 1 });
      const older = { ...example, labels: { ...example.labels, label: 0.1 } };
      const newer = { ...example, labels: { ...example.labels, label: 0.9 } };
      await log.append(TRAINING_EXAMPLES_TOPIC, [
        { key: example.user_id, value: encoder.encode(older), partition: 0 },
        { key: example.user_id, value: encoder.encode(newer), partition: 0 },
      ]);
      const producer = createProducer({ log, serde, createTopics: { partitions: 1 } });
      await producer.deliver('rec.training-snapshots', [
        {
          value: {
            snapshot_id: 'snap-test',
            created_ts: example.ts,
            ranges: [
              {
                topic: TRAINING_EXAMPLES_TOPIC,
                partition: 0,
                start_offset: 0,
                end_offset: 2,
                excluded_offsets: [],
              },
            ],
            example_count: 2,
            event_time_start: example.ts,
            event_time_end: example.ts,
            schema_ids: [encoder.schemaId],
          },
        },
      ]);
      await producer.close();
      const set = await gatherTrainingSet({ log, serde, windowDays: 0 });
      assert.equal(set.stats.examples, 1);
      assert.equal(set.stats.duplicates, 1);
      assert.equal((set.columns.column('label') as Float32Array)[0], Math.fround(0.9));
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
