import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { processMetrics } from './process-metrics.js';

/** A sample's value: `name` is the metric's, or a histogram's `_count` sample. */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => name.replace(/_count$/, '') === m.name);
  assert.ok(metric, `${name} is exported`);
  type Sample = { value: number; labels: Record<string, unknown>; metricName?: string };
  const match = (metric.values as Sample[]).find(
    (v) =>
      (v.metricName ?? metric.name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  assert.ok(match, `${name}${JSON.stringify(labels)} has a value`);
  return match.value;
}

test('a blocked event loop shows as the longest delay since the last scrape, and collections as GC pauses', async () => {
  const registry = new Registry();
  processMetrics(registry);
  processMetrics(registry); // once per registry: a second call adds nothing and does not throw
  await value(registry, 'nodejs_eventloop_lag_max_seconds'); // the scrape that resets the window
  await new Promise((resolve) => setTimeout(resolve, 50));
  const until = Date.now() + 300;
  while (Date.now() < until); // a 300 ms synchronous turn, as a stall would be
  await new Promise((resolve) => setTimeout(resolve, 50));
  const longest = await value(registry, 'nodejs_eventloop_lag_max_seconds');
  assert.ok(longest >= 0.25 && longest < 5, `the 300 ms turn shows: ${longest} s`);
  const quiet = await value(registry, 'nodejs_eventloop_lag_max_seconds');
  assert.ok(quiet < 0.25, `the next scrape's window does not hold the stall: ${quiet} s`);

  let garbage: unknown[] = [];
  for (let i = 0; i < 200_000; i++) garbage.push({ i, s: `x${i}` });
  garbage = [];
  await new Promise((resolve) => setTimeout(resolve, 50));
  const pauses = await value(registry, 'nodejs_gc_duration_seconds_count', { kind: 'minor' });
  assert.ok(pauses > 0 && garbage.length === 0, `minor collections counted: ${pauses}`);
});
