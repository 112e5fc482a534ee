/**
 * One event's trace end to end, with an in-memory span exporter registered
 * in-process: POST /v1/events (continuing the client's traceparent) →
 * rec.interactions → user-features → rec.interactions.enriched →
 * item-features → rec.training-examples → snapshotter →
 * rec.training-snapshots. Every span and every record header along the way
 * names the client's trace, each span's parent is the one before it, and a
 * record appended without a traceparent is processed without a span.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createResponderApp } from '../../responders/app.js';
import { Ingest } from '../../responders/ingest/ingest.js';
import { Readiness } from '../../responders/readiness.js';
import { event } from '../../responders/responder.fixture.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { PLATFORM_TOPICS } from '../../schemas/topics.js';
import { featuresTopology } from '../../topologies/features.js';
import { snapshotsTopology } from '../../topologies/snapshots.js';
import { loadConfig } from '../config.js';
import { StreamRunner } from '../engine/runner.js';
import type { LogRecord } from '../log/log.js';
import { avroSerializer } from '../processor/avro-serdes.js';
import type { Topology } from '../processor/topology.js';
import { createProducer } from '../producer/producer.js';
import { silentLogger } from './logger.js';
import { startTracing, stopTracing, TRACEPARENT, tracer, tracingActive } from './tracing.js';

const exporter = new InMemorySpanExporter();
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

before(async () => {
  assert.equal(await startTracing({ exporter, simple: true }), true);
  assert.equal(tracingActive(), true);
});
after(async () => {
  await stopTracing();
  assert.equal(tracingActive(), false);
});

/** `traceparent` → [trace id, span id]. */
function parent(headers: LogRecord['headers']): [string, string] {
  const value = headers?.[TRACEPARENT];
  assert.ok(value, `no traceparent in ${JSON.stringify(headers)}`);
  const [, traceId, spanId] = value.split('-');
  return [traceId!, spanId!];
}

async function records(platform: Platform, topic: string): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (const { partition, start, end } of await platform.log.offsets(topic))
    out.push(...(await platform.log.read(topic, partition, start, end - start)));
  return out;
}

function only(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const named = spans.filter((s) => s.name === name);
  assert.equal(named.length, 1, `${name}: ${named.length} spans`);
  return named[0]!;
}

test('one event keeps its trace from HTTP ingest through features and snapshots', {
  timeout: 60_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-tracing-'));
  const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_FSYNC: 'never' }, { dataDir }), {
    logger: silentLogger(),
  });
  try {
    // One partition: user-features releases the event when a later one moves its watermark.
    for (const name of ['rec.items', 'rec.users', 'rec.interactions'])
      await platform.log.ensureTopic({ name, partitions: 1, compacted: name !== 'rec.interactions' });
    const ingest = await Ingest.open({
      log: platform.log,
      serde: platform.serde,
      dataDir,
      windowMs: 3_600_000,
      maxInFlightEvents: 1000,
    });
    await ingest.start();
    const app = await createResponderApp({
      metrics: platform.metrics,
      readiness: new Readiness(),
      ingest: { service: ingest, maxBodyBytes: 1 << 20 },
    });
    const traced = event(1, { user_id: 'u1', item_id: 'i1', type: 'click' });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json', traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
        payload: JSON.stringify([traced]),
      });
      assert.equal(res.statusCode, 202, res.body);
    } finally {
      await app.close();
      await ingest.close();
    }
    // A later event from a producer outside any span: no header, and so no span where it is processed.
    const producer = createProducer({ log: platform.log, serde: platform.serde });
    const later = event(2, {
      user_id: 'u2',
      item_id: 'i2',
      type: 'view',
      ts: (traced.ts as number) + 600_000,
    });
    await producer.deliver('rec.interactions', [{ value: later as never }]);
    await producer.close();
    const interactions = await records(platform, 'rec.interactions');
    assert.equal(interactions.length, 2);
    assert.equal(interactions[1]!.headers?.[TRACEPARENT], undefined);

    const run = async (topology: Topology) =>
      (
        await StreamRunner.start({
          topology,
          log: platform.log,
          stateDir: join(dataDir, 'state', topology.applicationId),
          engine: 'memory',
          deadLetters: avroSerializer(await platform.serde.encoder('rec.dlq-value')),
          topics: PLATFORM_TOPICS,
          logger: silentLogger(),
          commitIntervalMs: 10,
        })
      ).runUntilCaughtUp();
    await run(
      await featuresTopology(platform.serde, {
        latenessMs: 1000,
        labelWindowMs: 60_000,
        watermarkIntervalMs: 1,
      }),
    );
    await run(await snapshotsTopology(platform.serde, { everyExamples: 1, everyMs: 86_400_000 }));

    const spans = exporter.getFinishedSpans();
    const ingestSpan = only(spans, 'POST /v1/events');
    const userFeatures = only(spans, 'process user-features');
    // item-features handles the enriched click, and the watermark user-features sent while processing it.
    const enriched = (await records(platform, 'rec.interactions.enriched')).filter((r) => r.key === 'i1');
    assert.equal(enriched.length, 1);
    const byItemFeatures = spans.filter((s) => s.name === 'process item-features');
    assert.equal(byItemFeatures.length, 2);
    const itemFeatures = byItemFeatures.find(
      (s) => s.attributes['messaging.kafka.offset'] === enriched[0]!.offset,
    )!;
    assert.ok(itemFeatures);
    const watermark = byItemFeatures.find((s) => s !== itemFeatures)!;
    assert.equal(watermark.spanContext().traceId, CLIENT_TRACE);
    assert.equal(watermark.parentSpanContext?.spanId, userFeatures.spanContext().spanId);
    const snapshotter = only(spans, 'process snapshotter');
    const chain = [ingestSpan, userFeatures, itemFeatures, snapshotter];
    for (const span of chain) assert.equal(span.spanContext().traceId, CLIENT_TRACE, span.name);
    assert.equal(ingestSpan.kind, SpanKind.SERVER);
    assert.equal(ingestSpan.parentSpanContext?.spanId, CLIENT_SPAN);
    for (let i = 1; i < chain.length; i++)
      assert.equal(chain[i]!.parentSpanContext?.spanId, chain[i - 1]!.spanContext().spanId, chain[i]!.name);
    assert.equal(userFeatures.kind, SpanKind.CONSUMER);
    assert.equal(userFeatures.attributes['messaging.destination.name'], 'rec.interactions');
    assert.equal(userFeatures.attributes['messaging.kafka.offset'], 0);
    assert.equal(itemFeatures.attributes['messaging.destination.name'], 'rec.interactions.enriched');

    // The records between them carry the same chain.
    assert.deepEqual(parent(interactions[0]!.headers), [CLIENT_TRACE, ingestSpan.spanContext().spanId]);
    assert.deepEqual(parent(enriched[0]!.headers), [CLIENT_TRACE, userFeatures.spanContext().spanId]);
    const examples = await records(platform, 'rec.training-examples');
    assert.equal(examples.length, 1, 'the traced click is the only released interaction');
    assert.deepEqual(parent(examples[0]!.headers), [CLIENT_TRACE, itemFeatures.spanContext().spanId]);
    const snapshots = await records(platform, 'rec.training-snapshots');
    assert.equal(snapshots.length, 1);
    assert.deepEqual(parent(snapshots[0]!.headers), [CLIENT_TRACE, snapshotter.spanContext().spanId]);

    // Untraced records (the later event, the watermarks its processing sent) were processed without spans.
    assert.equal(spans.filter((s) => s.name.startsWith('process ')).length, 4);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
    exporter.reset();
  }
});

test('the producer puts the active span into the headers of what it sends', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-tracing-producer-'));
  const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_FSYNC: 'never' }, { dataDir }), {
    logger: silentLogger(),
  });
  try {
    await platform.log.ensureTopic({ name: 'rec.interactions', partitions: 1 });
    const producer = createProducer({ log: platform.log, serde: platform.serde });
    const spanId = await tracer().startActiveSpan('publish', async (span) => {
      await producer.deliver('rec.interactions', [{ value: event(1) as never }]);
      span.end();
      return span.spanContext();
    });
    await producer.deliver('rec.interactions', [
      {
        value: event(2) as never,
        headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, app: 'x' },
      },
    ]);
    await producer.close();
    const [underSpan, own] = await records(platform, 'rec.interactions');
    assert.deepEqual(parent(underSpan!.headers), [spanId.traceId, spanId.spanId]);
    // A record that names its own trace keeps it.
    assert.equal(own!.headers?.[TRACEPARENT], `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`);
    assert.equal(own!.headers?.app, 'x');
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
    exporter.reset();
  }
});
