/**
 * POST /v1/events over the real embedded log and RocksDB index, with
 * `inject()`: acceptance, partial batches, duplicates and conflicts,
 * idempotency across a restart, and the body-level refusals.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { event, openTestResponder } from '../responder.fixture.js';

test('a valid batch is acknowledged with 202 only once every event is in the log', async () => {
  const h = await openTestResponder();
  try {
    const batch = Array.from({ length: 100 }, (_, i) => event(i));
    const res = await h.post(batch);
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), { accepted: 100, duplicates: 0 });
    const logged = await h.logged();
    assert.deepEqual(logged.map((l) => l.event.event_id).sort(), batch.map((e) => e.event_id).sort());
    const first = logged.find((l) => l.event.event_id === 'ev-0')!;
    assert.deepEqual(first.event, batch[0]);
    assert.equal(first.record.key, 'u0');
    assert.equal(first.record.timestamp, batch[0]!.ts);
  } finally {
    await h.close(true);
  }
});

test('{"events": [...]} is accepted too; omitted nullable fields and context become null', async () => {
  const h = await openTestResponder();
  try {
    const res = await h.post({
      events: [{ event_id: 'min', user_id: 'u1', item_id: 'i1', type: 'click', ts: 1_735_689_600_000 }],
    });
    assert.equal(res.statusCode, 202, res.body);
    const [logged] = await h.logged();
    assert.deepEqual(logged!.event, {
      event_id: 'min',
      user_id: 'u1',
      item_id: 'i1',
      type: 'click',
      value: null,
      watch_ms: null,
      ts: 1_735_689_600_000,
      context: { device: null, country: null, session_id: null, surface: null, request_id: null },
    });
  } finally {
    await h.close(true);
  }
});

test('a batch with bad records: good ones accepted, each bad one refused by index and field', async () => {
  const h = await openTestResponder();
  try {
    const batch = [
      event(0),
      event(1, { ts: '2025-01-01' }),
      event(2, { type: 'purchase' }),
      event(3),
      (() => {
        const { user_id: _, ...rest } = event(4);
        return rest;
      })(),
    ];
    const res = await h.post(batch);
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.equal(body.code, 'INVALID_EVENTS');
    assert.equal(body.accepted, 2);
    assert.deepEqual(
      body.refused.map((r: { index: number; event_id: string; errors: { field: string }[] }) => [
        r.index,
        r.event_id,
        r.errors.map((e) => e.field),
      ]),
      [
        [1, 'ev-1', ['ts']],
        [2, 'ev-2', ['type']],
        [4, 'ev-4', ['user_id']],
      ],
    );
    assert.match(body.refused[2].errors[0].reason, /missing \(expected string\)/);
    assert.deepEqual((await h.logged()).map((l) => l.event.event_id).sort(), ['ev-0', 'ev-3']);

    // The documented recovery: fix and resend the whole batch; nothing is stored twice.
    const fixed = await h.post([event(0), event(1), event(2), event(3), event(4)]);
    assert.equal(fixed.statusCode, 202, fixed.body);
    assert.deepEqual(fixed.json(), { accepted: 3, duplicates: 2 });
    assert.equal((await h.logged()).length, 5);
  } finally {
    await h.close(true);
  }
});

test('keys named after Object.prototype properties are refused by name, at the top and in context', async () => {
  const h = await openTestResponder();
  try {
    const base = JSON.stringify(event(0)).slice(1, -1);
    const bodies = [
      `[{${base},"__proto__":{"admin":true}}]`,
      `[{${base},"constructor":1}]`,
      `[{${base},"prototype":1}]`,
      `[{${JSON.stringify({ ...event(0), context: undefined }).slice(1, -1)},"context":{"__proto__":null}}]`,
    ];
    const fields = ['__proto__', 'constructor', 'prototype', 'context.__proto__'];
    for (const [i, body] of bodies.entries()) {
      const res = await h.post(body);
      assert.equal(res.statusCode, 400, `${fields[i]}: ${res.body}`);
      const [refused] = res.json().refused;
      assert.deepEqual(
        refused.errors.map((e: { field: string }) => e.field),
        [fields[i]],
      );
      assert.match(refused.errors[0].reason, /is not a field of rec\.Interaction/);
    }
    assert.deepEqual(await h.logged(), []);
  } finally {
    await h.close(true);
  }
});

test('duplicate event ids: within a batch, across requests, and across a restart — stored once', async () => {
  const h = await openTestResponder();
  const dataDir = h.dataDir;
  try {
    const res = await h.post([event(1), event(2), event(1)]);
    assert.deepEqual(res.json(), { accepted: 2, duplicates: 1 });
    assert.deepEqual((await h.post([event(2), event(3)])).json(), { accepted: 1, duplicates: 1 });
  } finally {
    await h.close();
  }
  const again = await openTestResponder({ dataDir });
  try {
    const res = await again.post([event(1), event(2), event(3), event(4)]);
    assert.deepEqual(res.json(), { accepted: 1, duplicates: 3 });
    const ids = (await again.logged()).map((l) => l.event.event_id).sort();
    assert.deepEqual(ids, ['ev-1', 'ev-2', 'ev-3', 'ev-4']);
  } finally {
    await again.close(true);
  }
});

test('concurrent requests carrying the same event ids store each event once', async () => {
  const h = await openTestResponder();
  try {
    const batch = Array.from({ length: 50 }, (_, i) => event(i));
    const replies = await Promise.all(Array.from({ length: 8 }, () => h.post(batch)));
    const bodies = replies.map((r) => r.json());
    assert.ok(replies.every((r) => r.statusCode === 202));
    assert.equal(
      bodies.reduce((n, b) => n + b.accepted, 0),
      50,
    );
    assert.equal(
      bodies.reduce((n, b) => n + b.duplicates, 0),
      7 * 50,
    );
    assert.equal((await h.logged()).length, 50);
  } finally {
    await h.close(true);
  }
});

test('an event id reused for a different event is refused, not stored', async () => {
  const h = await openTestResponder();
  try {
    await h.post([event(1)]);
    const res = await h.post([
      event(1, { item_id: 'other' }),
      event(2, { event_id: 'x' }),
      event(3, { event_id: 'x' }),
    ]);
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.deepEqual(
      body.refused.map((r: { index: number; errors: { field: string; reason: string }[] }) => [
        r.index,
        r.errors[0]!.field,
      ]),
      [
        [0, 'event_id'],
        [2, 'event_id'],
      ],
    );
    assert.match(body.refused[0].errors[0].reason, /already used by an event accepted earlier/);
    assert.match(body.refused[1].errors[0].reason, /already used by record 1 of this request/);
    assert.deepEqual((await h.logged()).map((l) => l.event.item_id).sort(), ['i1', 'i2']);
  } finally {
    await h.close(true);
  }
});

test('records appended but not yet indexed before a crash are indexed from the log on start', async () => {
  const h = await openTestResponder();
  const dataDir = h.dataDir;
  try {
    await h.post([event(1)]);
  } finally {
    await h.close();
  }
  // What a kill -9 between the log acknowledgement and the index write leaves: events in the log only.
  const h2 = await openTestResponder({ dataDir, start: false });
  try {
    const encoder = await h2.platform.serde.encoder('rec.interactions-value');
    const tail = [event(2), event(3)];
    await h2.platform.log.append(
      'rec.interactions',
      tail.map((e) => ({ key: e.user_id as string, value: encoder.encode(e as never) })),
    );
    const early = await h2.post([event(9)]);
    assert.equal(early.statusCode, 503);
    assert.equal(early.headers['retry-after'], '1');
    await h2.ingest.start();
    const res = await h2.post([event(1), event(2), event(3), event(4)]);
    assert.deepEqual(res.json(), { accepted: 1, duplicates: 3 });
    assert.equal((await h2.logged()).length, 4);
  } finally {
    await h2.close(true);
  }
});

test('body-level refusals: invalid JSON, invalid UTF-8, wrong shape, too large, too many, wrong content type', async () => {
  const h = await openTestResponder({ maxBodyBytes: 64 * 1024 });
  try {
    const cases: [unknown, Record<string, string> | undefined, number, string, RegExp][] = [
      ['[{"event_id": "e1",', undefined, 400, 'INVALID_JSON', /not valid JSON/],
      [
        Buffer.concat([Buffer.from('[{"event_id": "e'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')]),
        undefined,
        400,
        'INVALID_UTF8',
        /byte 16 \(0xc3\)/,
      ],
      ['{"event": []}', undefined, 400, 'INVALID_BATCH', /key\(s\) event/],
      ['"hello"', undefined, 400, 'INVALID_BATCH', /got string/],
      ['', undefined, 400, 'INVALID_JSON', /not valid JSON/],
      [`[${'1,'.repeat(40_000)}1]`, undefined, 413, 'BODY_TOO_LARGE', /larger than 65536 bytes/],
      [
        JSON.stringify(Array.from({ length: 1001 }, () => 0)),
        undefined,
        413,
        'TOO_MANY_EVENTS',
        /at most 1000/,
      ],
      ['[]', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/],
    ];
    for (const [body, headers, status, code, message] of cases) {
      const res = await h.post(body, headers);
      assert.equal(res.statusCode, status, `${code}: ${res.body}`);
      assert.equal(res.json().code, code);
      assert.match(res.json().error, message);
    }
    assert.equal((await h.logged()).length, 0);
    // Numbers JSON cannot hold exactly: 1e999 parses to Infinity, which must not become a rating.
    const infinite = await h.post(
      `[${JSON.stringify(event(1, { type: 'rate' })).replace('"value":0.5', '"value":1e999')}]`,
    );
    assert.equal(infinite.statusCode, 400);
    assert.deepEqual(infinite.json().refused[0].errors, [
      { field: 'value', reason: 'must be a finite number, got Infinity' },
    ]);
    const deep = await h.post(`[${'['.repeat(5000)}${']'.repeat(5000)}]`);
    assert.equal(deep.statusCode, 400);
    assert.match(
      deep.json().refused[0].errors[0].reason,
      /expected an object \(an Interaction\), got an array/,
    );
    const empty = await h.post([]);
    assert.deepEqual([empty.statusCode, empty.json()], [202, { accepted: 0, duplicates: 0 }]);
  } finally {
    await h.close(true);
  }
});

test('/readyz reports the ingest check; /healthz and /metrics answer', async () => {
  const h = await openTestResponder({ start: false });
  try {
    const starting = await h.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(starting.statusCode, 503);
    assert.match(starting.json().checks.ingest, /rebuilding the event-id index/);
    await h.ingest.start();
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    assert.deepEqual(
      [ready.statusCode, ready.json()],
      [200, { status: 'ready', checks: { ingest: 'ready' } }],
    );
    assert.equal((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    await h.post([event(1), event(1, { ts: -1 })]);
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /recstream_ingest_events_total\{outcome="accepted"\} 1/);
    assert.match(metrics, /recstream_ingest_events_total\{outcome="refused"\} 1/);
    assert.match(metrics, /recstream_ingest_requests_total\{status="400"\} 1/);
    assert.match(metrics, /recstream_producer_records_total\{topic="rec.interactions"\} 1/);
    const missing = await h.app.inject({ method: 'GET', url: '/v1/nothing' });
    assert.deepEqual([missing.statusCode, missing.json().code], [404, 'NOT_FOUND']);
  } finally {
    await h.close(true);
  }
});
