import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type SnapshotterOptions, snapshotId } from '../processors/snapshotter/snapshotter.js';
import { loadConfig } from '../runtime/config.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import type { EmbeddedLog } from '../runtime/log/embedded/embedded-log.js';
import type { LogRecord } from '../runtime/log/log.js';
import { partitionForKey } from '../runtime/log/partitioner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import { openEmbeddedRegistry } from '../runtime/registry/embedded/embedded-registry.js';
import { parseAvroType } from '../runtime/serde/avro.js';
import type { Serde } from '../runtime/serde/serde.js';
import type { TrainingExample, TrainingSnapshot } from '../schemas/generated/types.js';
import { loadSchema } from '../schemas/index.js';
import { platformSerde } from '../schemas/platform.js';
import { PLATFORM_TOPICS, TRAINING_SNAPSHOTS_TOPIC } from '../schemas/topics.js';
import { profile } from '../test/features.js';
import { withScratchLog } from '../test/platform.js';
import { APPLICATIONS } from './index.js';
import { snapshotsTopology, snapshotterOptions } from './snapshots.js';

const PARTITIONS = 2;
const EXAMPLES = 'rec.training-examples';
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);

const exampleType = parseAvroType(loadSchema('rec.training-examples-value') as never);
const template = exampleType.fromString(
  readFileSync(new URL('../schemas/rec.training-examples-value/fixtures/v1.json', import.meta.url), 'utf8'),
) as TrainingExample;

async function readAll(log: EmbeddedLog, topic: string, partition: number, from = 0): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (;;) {
    const batch = await log.read(topic, partition, from + out.length, 1000);
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

/** The snapshots application over `log` until caught up, its state in `<dir>/state`. */
async function runSnapshots(
  log: EmbeddedLog,
  serde: Serde,
  dir: string,
  options: SnapshotterOptions,
): Promise<void> {
  const runner = await StreamRunner.start({
    topology: await snapshotsTopology(serde, options),
    log,
    stateDir: join(dir, 'state'),
    engine: 'rocksdb',
    deadLetters: avroSerializer(await serde.encoder('rec.dlq-value')),
    topics: PLATFORM_TOPICS,
    logger: silentLogger(),
    commitIntervalMs: 5,
    maxPollRecords: 50,
  });
  await runner.runUntilCaughtUp();
}

test('snapshots: lineage replays to exactly the examples, opted-out users are left out of snapshots closed after the opt-out', {
  timeout: 60_000,
}, async () => {
  await withScratchLog('recstream-snapshots-', async ({ dir, log, serde }) => {
    const examples = await serde.encoder('rec.training-examples-value');
    const users = await serde.encoder('rec.users-value');
    const decoder = await serde.decoder('rec.training-snapshots-value');
    for (const name of [EXAMPLES, 'rec.users']) await log.ensureTopic({ name, partitions: PARTITIONS });
    const run = () => runSnapshots(log, serde, dir, { everyExamples: 4, everyMs: 6 * 3600_000 });
    // Four users on each partition; u1 shares partition 0 with u0, u2, u3.
    const userIds = ['u0', 'u1', 'u5', 'u2', 'u11', 'u3', 'u15', 'u16'];
    let n = 0;
    const written = new Map<string, string>();
    const writeExamples = async (count: number, ts: (i: number) => number) => {
      for (let i = 0; i < count; i++) {
        const user = userIds[i % userIds.length]!;
        const value = { ...template, example_id: `e${n++}`, user_id: user, ts: ts(i) };
        written.set(value.example_id, user);
        await log.append(EXAMPLES, [
          {
            key: user,
            value: examples.encode(value),
            timestamp: value.ts,
            partition: partitionForKey(user, PARTITIONS),
          },
        ]);
      }
    };

    // Before the opt-out: u1 has examples in closed snapshots and in the open one.
    await writeExamples(13, (i) => T0 + i * MINUTE);
    const u1Partition = partitionForKey('u1', PARTITIONS);
    await log.append(EXAMPLES, [
      { key: 'u1', value: Buffer.from('{"not":"avro"}'), timestamp: T0, partition: u1Partition },
    ]);
    await writeExamples(3, (i) => T0 + (20 + i) * MINUTE);
    await run();
    const before = new Set<string>();
    for (let p = 0; p < PARTITIONS; p++)
      for (const r of await readAll(log, TRAINING_SNAPSHOTS_TOPIC, p)) before.add(r.key!);
    assert.ok(before.size > 0, 'snapshots closed before the opt-out');

    await log.append('rec.users', [
      {
        key: 'u1',
        value: users.encode(profile('u1', { opt_out: true, updated_ts: T0 + 30 * MINUTE })),
        timestamp: T0 + 30 * MINUTE,
        partition: u1Partition,
      },
    ]);
    await run();
    // After the opt-out, u1's examples still in flight arrive; then a day later, every snapshot closes by time.
    await writeExamples(16, (i) => T0 + (40 + i) * MINUTE);
    await writeExamples(userIds.length, () => T0 + 24 * 3600_000);
    await run();

    const snapshots: TrainingSnapshot[] = [];
    for (let p = 0; p < PARTITIONS; p++)
      for (const r of await readAll(log, TRAINING_SNAPSHOTS_TOPIC, p)) {
        const s = (await decoder.decode(r.value!)) as TrainingSnapshot;
        assert.equal(r.key, s.snapshot_id);
        snapshots.push(s);
      }
    const covered = new Map<string, string>();
    let excludedU1 = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const mine = snapshots
        .filter((s) => s.ranges[0]!.partition === p)
        .sort((a, b) => a.ranges[0]!.start_offset - b.ranges[0]!.start_offset);
      assert.ok(mine.length >= 2, `partition ${p} has closed snapshots`);
      assert.equal(mine[0]!.ranges[0]!.start_offset, 0);
      const log0 = await readAll(log, EXAMPLES, p);
      for (const [i, s] of mine.entries()) {
        assert.equal(s.ranges.length, 1);
        const range = s.ranges[0]!;
        assert.equal(s.snapshot_id, snapshotId(s.ranges), 'the id is the hash of the lineage');
        if (i > 0)
          assert.equal(range.start_offset, mine[i - 1]!.ranges[0]!.end_offset, 'ranges are contiguous');
        // Replay the lineage: the range less its exclusions.
        const excluded = new Set(range.excluded_offsets);
        const replayed: TrainingExample[] = [];
        const schemaIds = new Set<number>();
        for (const r of await readAll(log, EXAMPLES, p, range.start_offset)) {
          if (r.offset >= range.end_offset) break;
          if (excluded.has(r.offset)) {
            if (r.key === 'u1' && r.value![0] === 0) excludedU1++;
            continue;
          }
          assert.deepEqual(r.value, log0[r.offset]!.value, 'byte for byte');
          schemaIds.add(r.value!.readUInt32BE(1));
          replayed.push(exampleType.fromBuffer(r.value!.subarray(5)) as TrainingExample);
        }
        assert.equal(replayed.length, s.example_count);
        assert.equal(s.event_time_start, replayed.length ? Math.min(...replayed.map((e) => e.ts)) : null);
        assert.equal(s.event_time_end, replayed.length ? Math.max(...replayed.map((e) => e.ts)) : null);
        assert.deepEqual(
          s.schema_ids,
          [...schemaIds].sort((a, b) => a - b),
        );
        for (const e of replayed) {
          assert.ok(!covered.has(e.example_id), `${e.example_id} is in one snapshot only`);
          covered.set(e.example_id, s.snapshot_id);
          if (e.user_id === 'u1')
            assert.ok(
              before.has(s.snapshot_id),
              `u1's ${e.example_id} is only in snapshots closed before the opt-out`,
            );
        }
      }
    }
    assert.ok(excludedU1 > 0, 'examples of u1 emitted before the opt-out were excluded');
    assert.ok(
      [...covered.keys()].some((id) => before.has(covered.get(id)!)),
      'snapshots closed before the opt-out are kept as they were',
    );
    // Every other example before the day-later ones is in exactly one snapshot.
    for (const [id, user] of written)
      if (user !== 'u1' && Number(id.slice(1)) < n - userIds.length)
        assert.ok(covered.has(id), `${id} of ${user} is in a snapshot`);
  });
});

test('an example written again is snapshotted once: an unchanged copy is excluded, past a cut too; a changed one is the newest copy', {
  timeout: 60_000,
}, async () => {
  await withScratchLog('recstream-snapshots-repeat-', async ({ dir, log, serde }) => {
    const examples = await serde.encoder('rec.training-examples-value');
    const decoder = await serde.decoder('rec.training-snapshots-value');
    for (const name of [EXAMPLES, 'rec.users']) await log.ensureTopic({ name, partitions: PARTITIONS });
    const partition = partitionForKey('u0', PARTITIONS);
    const write = (id: string, item: string, minute: number) =>
      log.append(EXAMPLES, [
        {
          key: 'u0',
          value: examples.encode({
            ...template,
            example_id: id,
            user_id: 'u0',
            item_id: item,
            ts: T0 + minute * MINUTE,
          }),
          timestamp: T0 + minute * MINUTE,
          partition,
        },
      ]);
    const DAY = 24 * 60;
    await write('e0', 'i0', 0); // offset 0
    await write('e1', 'i1', 1); // offset 1: written again at 3, changed
    await write('e2', 'i2', 2); // offset 2
    await write('e1', 'i9', 1); // offset 3
    await write('e0', 'i0', 0); // offset 4: the same bytes again (a crash repeat)
    await write('e3', 'i3', DAY); // offset 5: a day later, closes the first snapshot
    await write('e2', 'i2', 2); // offset 6: a crash repeat past the cut
    await write('e1', 'i8', 1); // offset 7: changed again past the cut (a replay after a fix)
    await write('e4', 'i4', 2 * DAY); // offset 8: closes the second snapshot
    await write('e0', 'i0', 0); // offset 9: its first copy is two snapshots back, no longer recognised
    await write('e5', 'i5', 3 * DAY); // offset 10: closes the third snapshot
    await runSnapshots(log, serde, dir, { everyExamples: 100, everyMs: 6 * 3600_000 });

    const all = await readAll(log, EXAMPLES, partition);
    // A snapshot's record is keyed by its id, so the three are on any partitions of the topic.
    const published: TrainingSnapshot[] = [];
    for (let p = 0; p < PARTITIONS; p++)
      for (const record of await readAll(log, TRAINING_SNAPSHOTS_TOPIC, p))
        published.push((await decoder.decode(record.value!)) as TrainingSnapshot);
    published.sort((a, b) => a.ranges[0]!.start_offset - b.ranges[0]!.start_offset);
    const snapshots: string[] = [];
    for (const snapshot of published) {
      const range = snapshot.ranges[0]!;
      const kept = all
        .filter(
          (r) =>
            r.offset >= range.start_offset &&
            r.offset < range.end_offset &&
            !range.excluded_offsets.includes(r.offset),
        )
        .map((r) => exampleType.fromBuffer(r.value!.subarray(5)) as TrainingExample)
        .map((e) => `${e.example_id} ${e.item_id}`);
      snapshots.push(
        `[${range.start_offset}, ${range.end_offset}) less [${range.excluded_offsets}]: ${snapshot.example_count} = ${kept.join(', ')}`,
      );
    }
    assert.deepEqual(snapshots, [
      '[0, 5) less [1,4]: 3 = e0 i0, e2 i2, e1 i9',
      '[5, 8) less [6]: 2 = e3 i3, e1 i8',
      '[8, 10) less []: 2 = e4 i4, e0 i0',
    ]);
  });
});

test('the snapshots topology is wired as documented (describe() pinned) and reads its settings from the configuration', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-snapshots-describe-'));
  const registry = await openEmbeddedRegistry({ dataDir: dir });
  try {
    const serde = platformSerde(registry);
    const config = loadConfig({ RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '10', RECSTREAM_SNAPSHOT_EVERY_MS: '20' });
    assert.deepEqual(snapshotterOptions(config), { everyExamples: 10, everyMs: 20 });
    assert.equal(
      String((await APPLICATIONS.snapshots!(serde, config)).describe()),
      [
        'Topology: snapshots',
        '    Source: training-examples (topics: [rec.training-examples])',
        '      --> snapshotter',
        '    Processor: snapshotter (stores: [snapshot-open, snapshot-members, snapshot-opt-outs, snapshot-example-ids])',
        '      --> training-snapshots',
        '      <-- training-examples, users',
        '    Sink: training-snapshots (topic: rec.training-snapshots)',
        '      <-- snapshotter',
        '    Source: users (topics: [rec.users])',
        '      --> snapshotter',
        '  Stores:',
        '    snapshot-open (owner: snapshotter, changelog: rec.snapshotter.snapshot-open.changelog)',
        '    snapshot-members (owner: snapshotter, changelog: rec.snapshotter.snapshot-members.changelog)',
        '    snapshot-opt-outs (owner: snapshotter, changelog: rec.snapshotter.snapshot-opt-outs.changelog)',
        '    snapshot-example-ids (owner: snapshotter, changelog: rec.snapshotter.snapshot-example-ids.changelog)',
      ].join('\n'),
    );
  } finally {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  }
});
