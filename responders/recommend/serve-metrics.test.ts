import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { SessionThread } from '../../inference/session-thread.js';
import { serveMetrics } from './serve-metrics.js';

test("a scrape reads the session threads' event-loop delay, and none once no thread runs", async () => {
  const registry = new Registry();
  serveMetrics(registry);
  const thread = new SessionThread();
  try {
    const text = await registry.metrics();
    for (const stat of ['max', 'p99'])
      assert.match(
        text,
        new RegExp(`^recstream_serve_session_thread_eventloop_lag_seconds\\{stat="${stat}"\\} \\d`, 'm'),
      );
  } finally {
    await thread.endIfIdle();
  }
  assert.doesNotMatch(await registry.metrics(), /^recstream_serve_session_thread_eventloop_lag_seconds\{/m);
});
