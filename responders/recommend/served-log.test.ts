import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { StorageError } from '../../runtime/errors.js';
import { Registry } from '../../runtime/observability/metrics.js';
import { withAppendFaults } from '../../runtime/producer/fault-injection.js';
import { createProducer } from '../../runtime/producer/producer.js';
import type { ServedRecommendations } from '../../schemas/generated/types.js';
import { RECOMMENDATIONS_TOPIC } from '../../schemas/topics.js';
import { withScratchLog } from '../../test/platform.js';
import { serveMetrics } from './serve-metrics.js';
import { ServedLog } from './served-log.js';

const list = (n: number): ServedRecommendations => ({
  request_id: `req-${n}`,
  user_id: `user-${n}-not-logged`,
  caller: null,
  items: [{ item_id: 'i1', score: 1, position: 0, propensity: 1, reason: 'fallback' }],
  model_version: null,
  index_version: null,
  fallback: 'no_model',
  surface: null,
  experiment_id: null,
  variant: null,
  shadow: false,
  exploration: null,
  exploration_pool: null,
  item_frontiers: null,
  took_ms: null,
  served_ts: 1_735_689_600_000 + n,
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('lists a failing log does not take are counted and logged as they fail, not at close', async () => {
  await withScratchLog('recstream-served-log-', async ({ log, serde }) => {
    await log.ensureTopic({ name: RECOMMENDATIONS_TOPIC, partitions: 2 });
    const failing = withAppendFaults(log, () =>
      Promise.reject(new StorageError('no space left on device (injected)')),
    );
    const registry = new Registry();
    const warnings: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
            warnings.push(JSON.parse(line));
          done();
        },
      }),
    );
    const producer = createProducer({ log: failing, serde });
    const served = new ServedLog({ producer, metrics: serveMetrics(registry), logger, flushMs: 10 });
    const dropped = async () => (await serveMetrics(registry).servedListsDropped.get()).values[0]?.value ?? 0;
    const loggedCounts = () =>
      warnings
        .filter((w) => w.msg === 'served lists not published to rec.recommendations')
        .map((w) => w.dropped);
    try {
      for (let n = 0; n < 3; n++) served.publish(list(n));
      await until('the three lists counted as dropped', async () => (await dropped()) === 3);
      await until('a warning with their count', async () => loggedCounts().length === 1);
      assert.deepEqual(loggedCounts(), [3]);

      for (let n = 3; n < 5; n++) served.publish(list(n));
      await served.flush();
      assert.equal(await dropped(), 5, 'flush returns once the failure is counted');
      await until('the next warning, within the second', async () => loggedCounts().length === 2);
      assert.deepEqual(loggedCounts(), [3, 2]);
      assert.match(String(warnings[0]?.reason), /no space left on device/);
      assert.ok(!JSON.stringify(warnings).includes('not-logged'), 'no user id in the warnings');
    } finally {
      await served.close();
      await producer.close().catch(() => {});
    }
    assert.equal(await dropped(), 5, 'close adds nothing: every failure was counted when it happened');
  });
});
