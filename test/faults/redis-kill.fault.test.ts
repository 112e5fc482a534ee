/**
 * Redis killed and restarted under load: `recstream serve` reads the feature
 * views from a Redis of the test's own (append-only file, fsync always),
 * eight clients ask for recommendations without pause, Redis is killed with
 * SIGKILL, left dead for three seconds and started again on the same port
 * and files. Every request gets a 200: personalised before, popularity with
 * `fallback` naming the online store during the outage, personalised again
 * after; no 5xx, no dropped connection.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sleep } from '../../runtime/retry.js';
import { runCliOk } from '../cli.js';
import { startListening, waitUntil } from '../listening.js';
import { startOwnRedis } from '../own-redis.js';
import { buildServedWorld, SERVED_WORLD_ENV } from '../served-world.js';
import { reportFigure } from './figures.js';
import { startLoad } from './load.js';

const CLIENTS = 8;
const OUTAGE_MS = 3000;

interface Body {
  readonly fallback: string | null;
  readonly items: unknown[];
}

test('Redis killed and restarted while serving: every request 200, fallbacks during the outage, personalised after', {
  timeout: 600_000,
}, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-redis-kill-'));
  const dataDir = join(root, 'data');
  const redis = await startOwnRedis(join(root, 'redis'));
  const env = {
    ...SERVED_WORLD_ENV,
    RECSTREAM_REDIS_URL: redis.url,
    RECSTREAM_REDIS_KEY_PREFIX: 'fault',
    RECSTREAM_HTTP_PORT: '0',
    RECSTREAM_RATE_LIMIT_PER_S: '0',
    RECSTREAM_SERVE_STORE_TIMEOUT_MS: '100',
  };
  try {
    await buildServedWorld(dataDir);
    await runCliOk(['materialize', '--once', '--data-dir', dataDir], env);
    const server = await startListening(['serve', '--data-dir', dataDir], env);
    const list = async (user: string) =>
      (await (await fetch(`${server.url}/v1/recommendations/${user}?k=10`)).json()) as Body;
    await waitUntil('serve answers personalised lists', async () => (await list('u0')).fallback === null);

    const load = startLoad(CLIENTS, (n) => ({ url: `${server.url}/v1/recommendations/u${n % 300}?k=10` }));
    await sleep(2000);
    const killedAt = Date.now() - load.startedAt;
    await redis.kill();
    await sleep(OUTAGE_MS);
    await redis.restart();
    const restartedAt = Date.now() - load.startedAt;
    const personalisedSince = (at: number) =>
      load.outcomes.find((o) => o.sentAt >= at && (o.body as Body | undefined)?.fallback === null);
    await waitUntil(
      'a personalised list after the restart',
      async () => personalisedSince(restartedAt) !== undefined,
    );
    const recoveredAt = personalisedSince(restartedAt)!.doneAt;
    await sleep(2000);
    const outcomes = await load.stop();
    server.child.kill('SIGTERM');
    const exit = await server.exit;
    assert.equal(exit.code, 0, exit.stderr);

    const failed = outcomes.filter((o) => o.status !== 200);
    assert.deepEqual(
      failed.slice(0, 5).map((o) => o.error ?? `${o.status} ${JSON.stringify(o.body).slice(0, 200)}`),
      [],
      `${failed.length} requests without a 200`,
    );
    const fallbacks = outcomes.filter((o) => /^online_store_/.test(String((o.body as Body).fallback)));
    assert.ok(fallbacks.length > 0, 'no request met the outage');
    assert.ok(
      fallbacks.every((o) => o.doneAt >= killedAt && o.sentAt <= recoveredAt),
      'an online-store fallback outside the outage',
    );
    for (const o of outcomes) assert.equal((o.body as Body).items.length, 10, 'every list is full');
    const after = outcomes.filter((o) => o.sentAt > recoveredAt);
    assert.ok(after.length > 0);
    assert.ok(
      after.every((o) => !/^online_store_/.test(String((o.body as Body).fallback))),
      'fallbacks after recovery',
    );
    reportFigure(t, 'redis-kill', {
      requests: outcomes.length,
      online_store_fallbacks: fallbacks.length,
      personalised: outcomes.filter((o) => (o.body as Body).fallback === null).length,
      status_5xx: outcomes.filter((o) => (o.status ?? 0) >= 500).length,
      connection_errors: outcomes.filter((o) => o.error !== undefined).length,
      outage_ms: restartedAt - killedAt,
      recovery_after_restart_ms: recoveredAt - restartedAt,
    });
  } finally {
    await redis.stop();
    await rm(root, { recursive: true, force: true });
  }
});
