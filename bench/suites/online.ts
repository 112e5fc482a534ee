/**
 * `online` suite: the online store on both back-ends, with Redis on
 * loopback (RECSTREAM_REDIS_URL, default redis://127.0.0.1:6379).
 *
 * - `materialize_records_per_s`: feature-store changelogs (RocksDB task
 *   states, embedded log) copied into Redis with versioned compare-and-set
 *   scripts. Reference in the same run: the same entries written by plain
 *   pipelined HSET, no versioning: what the versioning costs.
 * - `bundle_redis_per_s` (+ p50/p99 latency): one user's two views and 50
 *   items' views per request, sequential requests. Reference: PING, one bare
 *   round trip: the floor any one-round-trip read pays.
 * - `bundle_in_process_per_s` (+ p50/p99): the same bundles read from the
 *   task states' RocksDB in this process. Reference: the Redis figure.
 */
import { Redis } from 'ioredis';
import { silentLogger } from '../../runtime/observability/logger.js';
import { FeatureSource, SOURCE_APPLICATION } from '../../runtime/online/feature-source.js';
import { InProcessOnlineStore } from '../../runtime/online/in-process/in-process-store.js';
import { Materializer } from '../../runtime/online/materializer.js';
import { RedisOnlineStore } from '../../runtime/online/redis/redis-online-store.js';
import { type FeatureView, ViewRegistry } from '../../runtime/online/views.js';
import { jsonCodec } from '../../runtime/state/codecs/json-codec.js';
import { seededRandom } from '../interaction-load.js';
import { median, metric, type Suite } from '../result.js';

const SIZES = {
  small: { users: 20_000, items: 5_000, bundles: 2_000, runs: 3 },
  full: { users: 200_000, items: 50_000, bundles: 10_000, runs: 3 },
};
const ITEMS_PER_BUNDLE = 50;
const WRITE_CHUNK = 5_000;

interface Recent {
  readonly recent: readonly string[];
  readonly counts: readonly number[];
}

const codec = jsonCodec<Recent>() as FeatureView<unknown>['codec'];
const VIEWS: FeatureView<unknown>[] = [
  { name: 'user', entity: 'user', codec },
  { name: 'user_stats', entity: 'user', codec },
  { name: 'item', entity: 'item', codec },
];

function value(random: () => number): Recent {
  return {
    recent: Array.from({ length: 8 }, () => `i${Math.floor(random() * 5000)}`),
    counts: Array.from({ length: 10 }, () => Math.floor(random() * 1000)),
  };
}

export const onlineSuite: Suite = async ({ scale, progress }) => {
  const size = SIZES[scale];
  const url = process.env.RECSTREAM_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const random = seededRandom(5);
  const materialize: number[] = [];
  const plainHset: number[] = [];
  const redisBundles: number[] = [];
  const redisP50: number[] = [];
  const redisP99: number[] = [];
  const inProcessBundles: number[] = [];
  const inProcessP50: number[] = [];
  const inProcessP99: number[] = [];
  const pings: number[] = [];
  let changelogRecords = 0;

  for (let run = 0; run < size.runs; run++) {
    const prefix = `rsbench-${process.pid}-${run}`;
    const source = await FeatureSource.open(VIEWS);
    const raw = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await raw.connect();
    const store = await RedisOnlineStore.open({
      url,
      keyPrefix: prefix,
      views: new ViewRegistry(VIEWS),
      logger: silentLogger(),
      dropGraceMs: 0,
    });
    try {
      progress(`run ${run + 1}/${size.runs}: filling the feature stores`);
      await source.createNamespace('bench');
      const writes = [];
      for (let u = 0; u < size.users; u++) {
        writes.push({ view: 'user', key: `u${u}`, value: value(random) });
        writes.push({ view: 'user_stats', key: `u${u}`, value: value(random) });
      }
      for (let i = 0; i < size.items; i++) writes.push({ view: 'item', key: `i${i}`, value: value(random) });
      for (let i = 0; i < writes.length; i += WRITE_CHUNK)
        await source.apply('bench', writes.slice(i, i + WRITE_CHUNK));

      progress(`run ${run + 1}/${size.runs}: materializing into Redis`);
      const materializer = await Materializer.start({
        log: source.log,
        store,
        namespace: 'bench',
        sources: VIEWS.map((v) => ({ topic: source.changelog('bench', v.name), view: v.name })),
        logger: silentLogger(),
        activateIfNone: true,
      });
      let started = process.hrtime.bigint();
      const stats = await materializer.runUntilCaughtUp();
      materialize.push(stats.records / seconds(started));
      changelogRecords = stats.records;
      await materializer.close();

      progress(`run ${run + 1}/${size.runs}: the same entries by plain pipelined HSET`);
      const bytes = writes.map((w) => codec.encode(w.value));
      started = process.hrtime.bigint();
      for (let i = 0; i < writes.length; i += WRITE_CHUNK) {
        const pipeline = raw.pipeline();
        for (let j = i; j < Math.min(i + WRITE_CHUNK, writes.length); j++)
          pipeline.hset(`${prefix}-plain:${writes[j]!.key}`, writes[j]!.view, bytes[j]!);
        await pipeline.exec();
      }
      plainHset.push(writes.length / seconds(started));

      const requests = Array.from({ length: size.bundles }, () => ({
        user: `u${Math.floor(random() * size.users)}`,
        items: Array.from({ length: ITEMS_PER_BUNDLE }, () => `i${Math.floor(random() * size.items)}`),
      }));

      progress(`run ${run + 1}/${size.runs}: ${size.bundles} bundles from Redis`);
      const redis = await timeBundles((r) => store.bundle(r.user, { items: r.items }), requests);
      redisBundles.push(redis.perSecond);
      redisP50.push(redis.p50);
      redisP99.push(redis.p99);

      started = process.hrtime.bigint();
      for (let i = 0; i < size.bundles; i++) await raw.ping();
      pings.push(size.bundles / seconds(started));

      progress(`run ${run + 1}/${size.runs}: ${size.bundles} bundles in-process`);
      const local = new InProcessOnlineStore({
        bindings: VIEWS.map((view) => ({ view, application: SOURCE_APPLICATION, store: view.name })),
      });
      local.attach('bench', source.lookup('bench'));
      await local.activate('bench');
      const inProcess = await timeBundles((r) => local.bundle(r.user, { items: r.items }), requests);
      inProcessBundles.push(inProcess.perSecond);
      inProcessP50.push(inProcess.p50);
      inProcessP99.push(inProcess.p99);
      await local.close();
    } finally {
      await cleanup(raw, prefix);
      raw.disconnect();
      await store.close();
      await source.close();
    }
  }

  const config = {
    users: size.users,
    items: size.items,
    views: 'user, user_stats (per user), item (per item); ~200-byte JSON values',
    changelog_records: changelogRecords,
    bundle: `1 user x 2 views + ${ITEMS_PER_BUNDLE} items x 1 view, sequential`,
    bundles: size.bundles,
    runs: size.runs,
    redis: 'loopback',
  };
  const redisBundle = median(redisBundles);
  return [
    metric('online', 'materialize_records_per_s', median(materialize), 'records/s', true, config, {
      name: 'plain_pipelined_hset_per_s',
      value: median(plainHset),
    }),
    metric('online', 'bundle_redis_per_s', redisBundle, 'bundles/s', true, config, {
      name: 'redis_ping_round_trips_per_s',
      value: median(pings),
    }),
    metric('online', 'bundle_redis_latency_p50_ms', median(redisP50), 'ms', false, config),
    metric('online', 'bundle_redis_latency_p99_ms', median(redisP99), 'ms', false, config),
    metric('online', 'bundle_in_process_per_s', median(inProcessBundles), 'bundles/s', true, config, {
      name: 'bundle_redis_per_s',
      value: redisBundle,
    }),
    metric('online', 'bundle_in_process_latency_p50_ms', median(inProcessP50), 'ms', false, config),
    metric('online', 'bundle_in_process_latency_p99_ms', median(inProcessP99), 'ms', false, config),
  ];
};

async function timeBundles<R>(
  read: (request: R) => Promise<unknown>,
  requests: readonly R[],
): Promise<{ perSecond: number; p50: number; p99: number }> {
  for (const request of requests.slice(0, 50)) await read(request);
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  for (const request of requests) {
    const t0 = process.hrtime.bigint();
    await read(request);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const perSecond = requests.length / seconds(started);
  latencies.sort((a, b) => a - b);
  return {
    perSecond,
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
  };
}

async function cleanup(raw: Redis, prefix: string): Promise<void> {
  for (const pattern of [`${prefix}:*`, `${prefix}-plain:*`, `{${prefix}}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await raw.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
