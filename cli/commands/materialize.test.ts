import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testRedis } from '../../runtime/online/redis/redis.fixture.js';
import { finished, runCli, startCli } from '../../test/cli.js';
import { writeInteractions } from '../../test/platform.js';

const ENV = { RECSTREAM_LOG_FSYNC: 'never', RECSTREAM_COMMIT_INTERVAL_MS: '20' };

test('materialize --once fills Redis; online get answers the same from Redis and from the stores on disk', async (t) => {
  const redis = await testRedis(t);
  if (redis === undefined) return;
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-materialize-cli-'));
  const withRedis = { ...ENV, RECSTREAM_REDIS_URL: redis.url, RECSTREAM_REDIS_KEY_PREFIX: redis.prefix };
  try {
    const early = await runCli(['materialize', '--once', '--data-dir', dataDir], withRedis);
    assert.equal(early.code, 1);
    assert.match(
      early.stderr,
      /no view to materialize yet: .*user \(application features has not run.*interaction_counts \(changelog rec\.interaction-counts\.counts\.changelog does not exist yet\)/,
    );

    await writeInteractions(dataDir, 4, { seed: 11, users: 50, items: 20, count: 2000 });
    const processed = await runCli(
      ['process', '--app', 'interaction-counts', '--once', '--data-dir', dataDir],
      ENV,
    );
    assert.equal(processed.code, 0, processed.stderr);

    // Beside a running processor, which holds the log's lock: the materializer only reads.
    const processor = startCli(['process', '--app', 'interaction-counts', '--data-dir', dataDir], ENV);
    const processorDone = finished(processor);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const materialized = await runCli(['materialize', '--once', '--data-dir', dataDir], withRedis);
      assert.equal(materialized.code, 0, materialized.stderr);
      assert.match(materialized.stderr, /"materialize default"/);
    } finally {
      processor.kill('SIGTERM');
      assert.equal((await processorDone).code, 0);
    }

    const fromRedis = await runCli(
      ['online', 'get', 'interaction_counts', 'u0', 'u1', 'nobody', '--data-dir', dataDir],
      withRedis,
    );
    assert.equal(fromRedis.code, 0, fromRedis.stderr);
    const fromDisk = await runCli(
      ['online', 'get', 'interaction_counts', 'u0', 'u1', 'nobody', '--data-dir', dataDir],
      ENV,
    );
    assert.equal(fromDisk.code, 0, fromDisk.stderr);
    assert.equal(fromRedis.stdout, fromDisk.stdout);
    const lines = fromRedis.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.ok(lines[0].value.total > 0);
    assert.equal(lines[2].value, null);

    const listed = await runCli(['online', 'namespaces', '--json'], withRedis);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      JSON.parse(listed.stdout).map((n: { name: string; state: string }) => [n.name, n.state]),
      [['default', 'active']],
    );
    const unknown = await runCli(['online', 'activate', 'green'], withRedis);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /namespace green does not exist; fill it first/);
    const active = await runCli(['online', 'drop', 'default'], withRedis);
    assert.equal(active.code, 1);
    assert.match(active.stderr, /namespace default is active/);

    const noRedis = await runCli(['online', 'namespaces'], ENV);
    assert.equal(noRedis.code, 1);
    assert.match(noRedis.stderr, /set RECSTREAM_REDIS_URL/);
  } finally {
    await redis.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('the long-running materialize waits out an unreachable Redis instead of exiting, and stops on SIGTERM', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-materialize-down-'));
  try {
    await writeInteractions(dataDir, 2, { seed: 3, users: 5, items: 5, count: 50 });
    const processed = await runCli(
      ['process', '--app', 'interaction-counts', '--once', '--data-dir', dataDir],
      ENV,
    );
    assert.equal(processed.code, 0, processed.stderr);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const child = startCli(['materialize', '--data-dir', dataDir], {
      ...ENV,
      RECSTREAM_REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    const done = finished(child);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(child.exitCode, null, 'still running');
    child.kill('SIGTERM');
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    const warnings = result.stderr.split('\n').filter((l) => l.includes('materialize: cannot start yet'));
    assert.ok(
      warnings.length >= 2 && warnings.length <= 5,
      `bounded retries with backoff: ${warnings.length}`,
    );
    assert.match(warnings[0]!, /cannot reach Redis at 127\.0\.0\.1/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
