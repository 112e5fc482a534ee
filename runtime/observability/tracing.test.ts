/**
 * Tracing off (no RECSTREAM_OTLP_ENDPOINT, no SDK registered): nothing
 * starts, and no trace header is added anywhere — not by the producer
 * under a (no-op) span, not by HTTP ingest given a traceparent, not by a
 * processor task given a traced record. Plus the configuration and the
 * header helpers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { event, openTestResponder } from '../../responders/responder.fixture.js';
import { loadConfig } from '../config.js';
import { TopologyTestDriver } from '../processor/test-driver.js';
import { wordCount } from '../processor/word-count.fixture.js';
import { createProducer } from '../producer/producer.js';
import {
  contextFromHeaders,
  otlpTracesUrl,
  startTracing,
  startTracingFromConfig,
  TRACEPARENT,
  traceHeadersOf,
  tracesUrl,
  tracingActive,
  withTraceHeaders,
} from './tracing.js';

const TRACEPARENT_VALUE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('without an endpoint tracing stays off and nothing is started', async () => {
  assert.equal(tracingActive(), false);
  assert.equal(await startTracingFromConfig(loadConfig({})), false);
  assert.equal(await startTracing({}), false);
  assert.equal(tracingActive(), false);
});

test('RECSTREAM_OTLP_ENDPOINT and RECSTREAM_TRACE_SAMPLE_RATIO are validated and named in errors', () => {
  const config = loadConfig({ RECSTREAM_OTLP_ENDPOINT: 'http://collector:4318' });
  assert.equal(config.otlpEndpoint, 'http://collector:4318');
  assert.equal(config.traceSampleRatio, 1);
  assert.equal(loadConfig({ RECSTREAM_TRACE_SAMPLE_RATIO: '0.25' }).traceSampleRatio, 0.25);
  assert.throws(() => loadConfig({ RECSTREAM_OTLP_ENDPOINT: 'collector' }), /RECSTREAM_OTLP_ENDPOINT/);
  assert.throws(() => loadConfig({ RECSTREAM_TRACE_SAMPLE_RATIO: '1.5' }), /RECSTREAM_TRACE_SAMPLE_RATIO/);
});

test('the OTLP/HTTP traces URL is the base URL plus /v1/traces', () => {
  assert.equal(tracesUrl('http://collector:4318'), 'http://collector:4318/v1/traces');
  assert.equal(tracesUrl('http://collector:4318/'), 'http://collector:4318/v1/traces');
  assert.equal(tracesUrl('https://otel.example/otlp'), 'https://otel.example/otlp/v1/traces');
  assert.equal(tracesUrl('http://collector:4318/v1/traces'), 'http://collector:4318/v1/traces');
});

test("OpenTelemetry's standard endpoint variables turn tracing on; RECSTREAM_OTLP_ENDPOINT wins", () => {
  const url = (env: Record<string, string>) => otlpTracesUrl(loadConfig(env));
  assert.equal(url({}), undefined);
  assert.equal(
    url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318' }),
    'http://otel-collector:4318/v1/traces',
  );
  assert.equal(
    url({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://otel-collector:4318/custom/traces' }),
    'http://otel-collector:4318/custom/traces',
  );
  assert.equal(
    url({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces',
    }),
    'http://traces:4318/v1/traces',
  );
  assert.equal(
    url({
      RECSTREAM_OTLP_ENDPOINT: 'http://recstream:4318',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces',
    }),
    'http://recstream:4318/v1/traces',
  );
  assert.throws(
    () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector' }),
    /OTEL_EXPORTER_OTLP_ENDPOINT/,
  );
  assert.equal(loadConfig({}).otelServiceName, 'recstream');
  assert.equal(loadConfig({ OTEL_SERVICE_NAME: 'recs-eu' }).otelServiceName, 'recs-eu');
});

test('trace headers round-trip through a context and replace older ones', () => {
  const ctx = contextFromHeaders({ traceparent: TRACEPARENT_VALUE, tracestate: 'a=1' });
  assert.equal(trace.getSpanContext(ctx)?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.deepEqual(traceHeadersOf(ctx), { traceparent: TRACEPARENT_VALUE, tracestate: 'a=1' });
  assert.equal(traceHeadersOf(contextFromHeaders({})), undefined);
  assert.equal(traceHeadersOf(contextFromHeaders({ traceparent: 'garbage' })), undefined);
  assert.deepEqual(
    withTraceHeaders(
      { app: 'x', traceparent: 'old', tracestate: 'old=1' },
      { traceparent: TRACEPARENT_VALUE },
    ),
    { app: 'x', traceparent: TRACEPARENT_VALUE },
  );
  const own = { app: 'x' };
  assert.equal(withTraceHeaders(own, undefined), own);
});

test('off: the producer adds no trace header, even under a span', async () => {
  const h = await openTestResponder();
  try {
    const producer = createProducer({ log: h.platform.log, serde: h.platform.serde });
    await trace.getTracer('test').startActiveSpan('publish', async (span) => {
      await producer.deliver('rec.interactions', [{ value: event(1) as never }]);
      span.end();
    });
    await producer.close();
    const [logged] = await h.logged();
    assert.equal(logged!.record.headers?.[TRACEPARENT], undefined);
  } finally {
    await h.close(true);
  }
});

test('off: HTTP ingest given a traceparent appends records without one', async () => {
  const h = await openTestResponder();
  try {
    const res = await h.post([event(1), event(2)], {
      'content-type': 'application/json',
      traceparent: TRACEPARENT_VALUE,
    });
    assert.equal(res.statusCode, 202, res.body);
    const logged = await h.logged();
    assert.equal(logged.length, 2);
    for (const { record } of logged) {
      assert.equal(record.headers?.[TRACEPARENT], undefined);
      assert.equal(record.headers?.tracestate, undefined);
    }
  } finally {
    await h.close(true);
  }
});

test('off: a task processing a traced record adds no header to what it emits', async () => {
  const driver = await TopologyTestDriver.create(wordCount());
  try {
    await driver.pipe('rec.lines', 'l1', Buffer.from('a b'), 1_000, { traceparent: TRACEPARENT_VALUE });
    const words = driver.readOutput('rec.words-by-word');
    assert.equal(words.length, 2);
    for (const out of words) assert.equal(out.headers, undefined);
  } finally {
    await driver.close();
  }
});
