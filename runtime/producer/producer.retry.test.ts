/**
 * Retries over the real embedded log with injected append faults: errors the
 * log raises before writing, acknowledgements lost after writing (the
 * ambiguous case), non-retriable errors, and a log that never comes back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { interactionStream } from '../../bench/interaction-load.js';
import type { Interaction } from '../../schemas/generated/types.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { loadConfig } from '../config.js';
import { ConnectionError, DeliveryTimeoutError, StorageError } from '../errors.js';
import { silentLogger } from '../observability/logger.js';
import { withAppendFaults } from './fault-injection.js';
import { createProducer } from './producer.js';

const TOPIC = 'rec.interactions';

async function withPlatform(fn: (p: Platform) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-producer-retry-'));
  const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_FSYNC: 'never' }, { dataDir }), {
    logger: silentLogger(),
  });
  try {
    // One partition: every record's order relative to every other is checked.
    await platform.log.ensureTopic({ name: TOPIC, partitions: 1 });
    await fn(platform);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function events(count: number): Interaction[] {
  return [...interactionStream({ seed: 3, users: 20, items: 20, count })];
}

async function loggedIds(p: Platform): Promise<string[]> {
  const end = (await p.log.offsets(TOPIC))[0]!.end;
  const decoder = await p.serde.decoder('rec.interactions-value');
  const records = await p.log.read(TOPIC, 0, 0, end);
  return Promise.all(records.map(async (r) => (await decoder.decode(r.value!)).event_id));
}

const fast = { retryBackoffMs: 5, retryBackoffMaxMs: 20, lingerMs: 0, maxBatchRecords: 10 };

test('a retriable error before the write is retried; order is kept', async () => {
  await withPlatform(async (p) => {
    const log = withAppendFaults(p.log, (call, next) =>
      call < 2 ? Promise.reject(new ConnectionError('broker unreachable')) : next(),
    );
    const producer = createProducer({ log, serde: p.serde, ...fast });
    const sent = events(35);
    const delivered = producer.deliver(
      TOPIC,
      sent.map((value) => ({ value })),
    );
    await delivered;
    await producer.close();
    assert.deepEqual(
      await loggedIds(p),
      sent.map((e) => e.event_id),
    );
    assert.ok(log.appends >= 6, `${log.appends} appends`);
  });
});

test('an acknowledgement lost after the write is not written twice', async () => {
  await withPlatform(async (p) => {
    // Appends 0 and 3 reach the log but their callers see a timeout.
    const log = withAppendFaults(p.log, async (call, next) => {
      const acks = await next();
      if (call === 0 || call === 3) throw new ConnectionError('request timed out');
      return acks;
    });
    const producer = createProducer({ log, serde: p.serde, ...fast });
    const sent = events(60);
    const first = producer.deliver(
      TOPIC,
      sent.slice(0, 30).map((value) => ({ value })),
    );
    const second = producer.deliver(
      TOPIC,
      sent.slice(30).map((value) => ({ value })),
    );
    const [a, b] = await Promise.all([first, second]);
    await producer.close();
    assert.deepEqual(
      await loggedIds(p),
      sent.map((e) => e.event_id),
    );
    assert.deepEqual(
      [...a, ...b].map((m) => m.offset),
      sent.map((_, i) => i),
      'metadata points at the single copy',
    );
  });
});

test('a non-retriable error fails its batch at once without a retry; later batches go on', async () => {
  await withPlatform(async (p) => {
    const log = withAppendFaults(p.log, (call, next) =>
      call === 0 ? Promise.reject(new StorageError('no space left on device')) : next(),
    );
    const producer = createProducer({ log, serde: p.serde, ...fast });
    const sent = events(20);
    await assert.rejects(
      producer.deliver(
        TOPIC,
        sent.slice(0, 10).map((value) => ({ value })),
      ),
      StorageError,
    );
    assert.equal(log.appends, 1);
    await producer.deliver(
      TOPIC,
      sent.slice(10).map((value) => ({ value })),
    );
    await producer.close();
    assert.deepEqual(
      await loggedIds(p),
      sent.slice(10).map((e) => e.event_id),
    );
  });
});

test('a log that stays down ends in DeliveryTimeoutError; flush reports failed sends', async () => {
  await withPlatform(async (p) => {
    const log = withAppendFaults(p.log, () => Promise.reject(new ConnectionError('broker unreachable')));
    const producer = createProducer({ log, serde: p.serde, ...fast, deliveryTimeoutMs: 150 });
    const sent = events(2);
    await assert.rejects(
      producer.deliver(TOPIC, [{ value: sent[0]! }]),
      (err: unknown) =>
        err instanceof DeliveryTimeoutError && err.retriable && err.cause instanceof ConnectionError,
    );
    await producer.send(TOPIC, [{ value: sent[1]! }]);
    await assert.rejects(producer.flush(), DeliveryTimeoutError);
    await producer.flush();
    await producer.close();
    assert.deepEqual(await loggedIds(p), []);
  });
});
