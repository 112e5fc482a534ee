import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { interactionStream } from '../../bench/interaction-load.js';
import type { Interaction, Item } from '../../schemas/generated/types.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { loadConfig } from '../config.js';
import { BufferFullError, ProducerError, SchemaValidationError, TopicError } from '../errors.js';
import type { LogRecord } from '../log/log.js';
import { partitionForKey } from '../log/partitioner.js';
import { silentLogger } from '../observability/logger.js';
import { withAppendFaults } from './fault-injection.js';
import { createProducer, type DeliveryReport } from './producer.js';

const TOPIC = 'rec.interactions';
const PARTITIONS = 3;

async function withPlatform(fn: (p: Platform) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-producer-'));
  const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_FSYNC: 'never' }, { dataDir }), {
    logger: silentLogger(),
  });
  try {
    await platform.log.ensureTopic({ name: TOPIC, partitions: PARTITIONS });
    await fn(platform);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function events(count: number, seed = 1): Interaction[] {
  return [...interactionStream({ seed, users: 50, items: 100, count })];
}

async function readAll(p: Platform, topic = TOPIC): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (const { partition, start, end } of await p.log.offsets(topic)) {
    out.push(...(await p.log.read(topic, partition, start, end - start)));
  }
  return out;
}

async function decodedIds(p: Platform, records: readonly LogRecord[]): Promise<string[]> {
  const decoder = await p.serde.decoder('rec.interactions-value');
  return Promise.all(records.map(async (r) => (await decoder.decode(r.value!)).event_id));
}

test('send batches records by partition, keyed by user_id, timestamped by ts, in order', async () => {
  await withPlatform(async (p) => {
    const reports: DeliveryReport[] = [];
    const producer = createProducer({
      log: p.log,
      serde: p.serde,
      lingerMs: 20,
      onDelivery: (r) => reports.push(r),
    });
    const sent = events(3000);
    for (let i = 0; i < sent.length; i += 100) {
      await producer.send(
        TOPIC,
        sent.slice(i, i + 100).map((value) => ({ value })),
      );
    }
    await producer.close();
    const records = await readAll(p);
    assert.equal(records.length, sent.length);
    const byId = new Map(sent.map((e) => [e.event_id, e]));
    const ids = await decodedIds(p, records);
    for (const [i, r] of records.entries()) {
      const event = byId.get(ids[i]!)!;
      assert.equal(r.key, event.user_id);
      assert.equal(r.partition, partitionForKey(event.user_id, PARTITIONS));
      assert.equal(r.timestamp, event.ts);
    }
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const expected = sent.filter((e) => partitionForKey(e.user_id, PARTITIONS) === partition);
      const got = ids.filter((_, i) => records[i]!.partition === partition);
      assert.deepEqual(
        got,
        expected.map((e) => e.event_id),
        `partition ${partition} keeps send order`,
      );
    }
    // Linger and size batching: far fewer appends than sends, none above the batch limit.
    assert.ok(reports.length < 30 * PARTITIONS, `${reports.length} batches`);
    assert.ok(reports.every((r) => r.records.length <= 1000));
    assert.equal(
      reports.reduce((n, r) => n + r.records.length, 0),
      sent.length,
    );
    const reported = new Set(reports.flatMap((r) => r.values));
    assert.ok(
      sent.every((e) => reported.has(e)),
      'reports carry the values as sent',
    );
  });
});

test('deliver resolves after the append with each record partition and offset', async () => {
  await withPlatform(async (p) => {
    const producer = createProducer({ log: p.log, serde: p.serde });
    const sent = events(50);
    const metadata = await producer.deliver(
      TOPIC,
      sent.map((value) => ({ value })),
    );
    assert.equal(metadata.length, sent.length);
    const decoder = await p.serde.decoder('rec.interactions-value');
    for (const [i, meta] of metadata.entries()) {
      const [record] = await p.log.read(TOPIC, meta.partition, meta.offset, 1);
      assert.equal((await decoder.decode(record!.value!)).event_id, sent[i]!.event_id);
    }
    await producer.close();
  });
});

test('a bad record is refused before anything of its send is buffered, naming index and field', async () => {
  await withPlatform(async (p) => {
    const producer = createProducer({ log: p.log, serde: p.serde });
    const sent: unknown[] = events(3);
    sent[1] = { ...(sent[1] as Interaction), ts: 'yesterday', watchMs: 5 };
    await assert.rejects(
      producer.send(
        TOPIC,
        sent.map((value) => ({ value: value as Interaction })),
      ),
      (err: unknown) => {
        assert.ok(err instanceof SchemaValidationError);
        assert.match(err.message, /^record 1 of 3: /);
        assert.deepEqual(
          err.fields.map((f) => f.path),
          ['ts', 'watchMs'],
        );
        return true;
      },
    );
    await producer.close();
    assert.equal((await readAll(p)).length, 0);
  });
});

test('a full buffer makes send wait and deliver with ifFull reject fail fast', async () => {
  await withPlatform(async (p) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const log = withAppendFaults(p.log, async (_call, next) => {
      await held;
      return next();
    });
    const producer = createProducer({
      log,
      serde: p.serde,
      lingerMs: 0,
      maxBatchRecords: 5,
      maxBufferedRecords: 10,
    });
    const sent = events(12);
    await producer.send(
      TOPIC,
      sent.slice(0, 10).map((value) => ({ value })),
    );
    assert.equal(producer.buffered, 10);
    let waited = false;
    const blocked = producer.send(TOPIC, [{ value: sent[10]! }]).then(() => (waited = true));
    await assert.rejects(
      producer.deliver(TOPIC, [{ value: sent[11]! }], { ifFull: 'reject' }),
      (err: unknown) => err instanceof BufferFullError && err.retriable,
    );
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(waited, false, 'send waits while the buffer is full');
    release();
    await blocked;
    await producer.deliver(TOPIC, [{ value: sent[11]! }]);
    await producer.close();
    assert.deepEqual((await decodedIds(p, await readAll(p))).sort(), sent.map((e) => e.event_id).sort());
  });
});

test('close flushes what is buffered, then refuses sends', async () => {
  await withPlatform(async (p) => {
    const producer = createProducer({ log: p.log, serde: p.serde, lingerMs: 60_000 });
    await producer.send(
      TOPIC,
      events(7).map((value) => ({ value })),
    );
    await producer.close();
    assert.equal((await readAll(p)).length, 7);
    await assert.rejects(
      producer.send(TOPIC, [{ value: events(1)[0]! }]),
      (err: unknown) => err instanceof ProducerError && err.code === 'PRODUCER_CLOSED',
    );
  });
});

test('a missing topic is a TopicError unless createTopics is set; rec.items is created compacted', async () => {
  await withPlatform(async (p) => {
    const item: Item = {
      item_id: 'i1',
      title: 'One',
      categories: ['drama'],
      tags: [],
      language: 'en',
      duration_s: 5400,
      release_ts: 0,
      maturity: 'all',
      available: true,
      updated_ts: 1_700_000_000_000,
    };
    const strict = createProducer({ log: p.log, serde: p.serde });
    await assert.rejects(strict.send('rec.items', [{ value: item }]), TopicError);
    const creating = createProducer({ log: p.log, serde: p.serde, createTopics: { partitions: 2 } });
    const [meta] = await creating.deliver('rec.items', [{ value: item }, { key: 'i2', value: null }]);
    assert.deepEqual(await p.log.describeTopic('rec.items'), {
      name: 'rec.items',
      partitions: 2,
      compacted: true,
    });
    const [record] = await p.log.read('rec.items', meta!.partition, meta!.offset, 1);
    assert.equal(record!.key, 'i1');
    assert.equal(record!.timestamp, item.updated_ts);
    await assert.rejects(
      creating.send('rec.items', [{ value: null }]),
      (err: unknown) =>
        err instanceof ProducerError && /tombstone \(null value\) needs a key/.test(err.message),
    );
    await creating.close();
  });
});
