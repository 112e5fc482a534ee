/**
 * Redis for the online-store tests: the real server on loopback
 * (RECSTREAM_TEST_REDIS_URL, default redis://127.0.0.1:6379), a key prefix
 * unique to each test so parallel runs never meet, and a cleanup that
 * deletes every key under it. When no server answers, the test is skipped
 * with the reason printed, or fails under `CI=true` (test/skips.ts), never
 * faked.
 *
 * @example
 * ```ts
 * const redis = await testRedis(t);
 * if (redis === undefined) return;
 * const store = await RedisOnlineStore.open({ url: redis.url, keyPrefix: redis.prefix, views, logger });
 * await redis.cleanup();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { missingService } from '../../../test/skips.js';

export const TEST_REDIS_URL = process.env.RECSTREAM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestRedis {
  readonly url: string;
  readonly prefix: string;
  /** A plain client for looking at keys directly. */
  readonly client: Redis;
  /** Keys under the prefix (data keys and the `{prefix}` registry keys). */
  keys(pattern?: string): Promise<string[]>;
  /** Deletes every key of the prefix and disconnects. */
  cleanup(): Promise<void>;
}

/** A TCP proxy on loopback in front of Redis whose link can be cut, to test real connection loss. */
export interface CuttableLink {
  /** A Redis URL through the proxy. */
  readonly url: string;
  /** Drops every connection and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function cuttableLink(targetUrl: string = TEST_REDIS_URL): Promise<CuttableLink> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}${target.pathname.length > 1 ? target.pathname : ''}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A connected client and a fresh prefix; undefined when no server answers,
 * the test then skipped (or, under `CI=true`, failed by a thrown error).
 */
export async function testRedis(t: TestContext): Promise<TestRedis | undefined> {
  const redis = await connectTestRedis();
  if (typeof redis !== 'string') return redis;
  missingService(t, redis);
  return undefined;
}

/** A connected client and a fresh prefix, or why Redis cannot be used here. */
export async function connectTestRedis(): Promise<TestRedis | string> {
  const client = new Redis(TEST_REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    return `no Redis server answers at ${TEST_REDIS_URL} (${(err as Error).message}); set RECSTREAM_TEST_REDIS_URL or start redis-server`;
  }
  const prefix = `rstest-${process.pid}-${randomBytes(4).toString('hex')}`;
  const keys = async (pattern = '*'): Promise<string[]> => {
    const found: string[] = [];
    for (const match of [`${prefix}:${pattern}`, `{${prefix}}:${pattern}`]) {
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        found.push(...batch);
        cursor = next;
      } while (cursor !== '0');
    }
    return found.sort();
  };
  return {
    url: TEST_REDIS_URL,
    prefix,
    client,
    keys,
    async cleanup() {
      const left = await keys();
      if (left.length > 0) await client.unlink(...left);
      client.disconnect();
    },
  };
}
