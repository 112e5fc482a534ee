/**
 * The `co_visitation` online view on both back-ends: after `process --app
 * co-visitation --once` and `materialize --once`, `online get` answers the
 * same neighbour lists from Redis as from the stores on disk.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testRedis } from '../../runtime/online/redis/redis.fixture.js';
import { runCliOk } from '../../test/cli.js';
import { withTestPlatform, writeInteractions } from '../../test/platform.js';

const ENV = { RECSTREAM_LOG_FSYNC: 'never', RECSTREAM_COMMIT_INTERVAL_MS: '20' };

test('the co_visitation view reads the same from Redis as from the stores on disk', async (t) => {
  const redis = await testRedis(t);
  if (redis === undefined) return;
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-materialize-co-visitation-'));
  const withRedis = { ...ENV, RECSTREAM_REDIS_URL: redis.url, RECSTREAM_REDIS_KEY_PREFIX: redis.prefix };
  try {
    await writeInteractions(dataDir, 4, { seed: 5, users: 30, items: 20, count: 1500 });
    // The catalog (a global table) and the profiles are read too: their topics exist, empty here.
    await withTestPlatform(dataDir, async ({ log }) => {
      for (const name of ['rec.items', 'rec.users']) await log.ensureTopic({ name, partitions: 4 });
    });
    await runCliOk(['process', '--app', 'co-visitation', '--once', '--data-dir', dataDir], ENV);
    await runCliOk(['materialize', '--once', '--data-dir', dataDir], withRedis);
    const get = ['online', 'get', 'co_visitation', 'i0', 'i1', 'i5', 'nothing', '--data-dir', dataDir];
    const fromRedis = (await runCliOk(get, withRedis)).stdout;
    const fromDisk = (await runCliOk(get, ENV)).stdout;
    assert.equal(fromRedis, fromDisk);
    const lines = fromRedis
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { value: { items: string[]; weights: number[] } | null });
    assert.equal(lines.length, 4);
    assert.ok(lines[0]!.value!.items.length > 0, 'the most visited item has neighbours');
    const weights = lines[0]!.value!.weights;
    assert.deepEqual(
      weights,
      [...weights].sort((a, b) => b - a),
      'strongest first',
    );
    assert.equal(lines[3]!.value, null);
  } finally {
    await redis.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
});
