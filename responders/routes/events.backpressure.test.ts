/**
 * POST /v1/events when the log is slow or failing (fault injection around
 * the real embedded log): 429 / 503 with Retry-After, and an event refused
 * that way is not remembered as accepted — a resend stores it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionError, StorageError } from '../../runtime/errors.js';
import { withAppendFaults } from '../../runtime/producer/fault-injection.js';
import { event, openTestResponder } from '../responder.fixture.js';

test('more events in flight than the bound: 429 with Retry-After, then accepted after the log catches up', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const h = await openTestResponder({
    maxInFlightEvents: 1000,
    wrapLog: (log) =>
      withAppendFaults(log, async (_call, next) => {
        await held;
        return next();
      }),
  });
  try {
    const big = h.post(Array.from({ length: 1000 }, (_, i) => event(i)));
    await new Promise((r) => setTimeout(r, 50));
    const shed = await h.post([event(5000)]);
    assert.equal(shed.statusCode, 429, shed.body);
    assert.equal(shed.headers['retry-after'], '1');
    assert.equal(shed.json().code, 'BUFFER_FULL');
    release();
    assert.equal((await big).statusCode, 202);
    const retried = await h.post([event(5000)]);
    assert.deepEqual([retried.statusCode, retried.json()], [202, { accepted: 1, duplicates: 0 }]);
    assert.equal((await h.logged()).length, 1001);
  } finally {
    await h.close(true);
  }
});

test('a log that keeps failing: 503 with Retry-After; the events are accepted when resent later', async () => {
  let failing = true;
  const h = await openTestResponder({
    deliveryTimeoutMs: 150,
    wrapLog: (log) =>
      withAppendFaults(log, (_call, next) =>
        failing ? Promise.reject(new ConnectionError('broker unreachable')) : next(),
      ),
  });
  try {
    const batch = [event(1), event(2)];
    const down = await h.post(batch);
    assert.equal(down.statusCode, 503, down.body);
    assert.equal(down.headers['retry-after'], '1');
    assert.equal(down.json().code, 'DELIVERY_TIMEOUT');
    failing = false;
    const up = await h.post(batch);
    assert.deepEqual([up.statusCode, up.json()], [202, { accepted: 2, duplicates: 0 }]);
    assert.equal((await h.logged()).length, 2);
  } finally {
    await h.close(true);
  }
});

test('a non-retriable log error: 503 naming it, without Retry-After; nothing remembered', async () => {
  let broken = true;
  const h = await openTestResponder({
    wrapLog: (log) =>
      withAppendFaults(log, (_call, next) =>
        broken
          ? Promise.reject(new StorageError('no space left on device; free space in the data dir'))
          : next(),
      ),
  });
  try {
    const down = await h.post([event(1)]);
    assert.equal(down.statusCode, 503);
    assert.equal(down.headers['retry-after'], undefined);
    assert.match(down.json().error, /no space left on device/);
    broken = false;
    assert.deepEqual((await h.post([event(1)])).json(), { accepted: 1, duplicates: 0 });
  } finally {
    await h.close(true);
  }
});
