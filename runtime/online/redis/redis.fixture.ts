/**
 * Redis for the online-store tests: the real server on loopback
 * (RECSTREAM_TEST_REDIS_URL, default redis://127.0.0.1:6379), a key prefix
 * unique to each test so parallel runs never meet, and a cleanup that
 * deletes every key under it. When no server answers, the tests are skipped
 * with the reason printed, never faked.
 *
 * @example
 * ```ts
 * const redis = await testRedis();
 * if (typeof redis === 'string') return t.skip(redis);
 * const store = await RedisOnlineStore.open({ url: redis.url, keyPrefix: redis.prefix, views, logger });
 * await redis.cleanup();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

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

/** A connected client and a fresh prefix, or why Redis cannot be used here. */
export async function testRedis(): Promise<TestRedis | string> {
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
