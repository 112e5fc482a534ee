/**
 * The Redis back-end of the online store: a materialized copy of the
 * feature views, written by the materializer with versioned compare-and-set
 * scripts and read in one pipelined round trip per request. Key design and
 * its Cluster reasoning: `keys.ts` and README.md beside this file.
 *
 * Every read pipeline starts with a GET of the active-namespace pointer and
 * reads the namespace it last saw; when the pointer moved (a blue/green
 * swap), the read is repeated on the new namespace. Reads therefore cost one
 * round trip and follow a swap at once, and `drop` waits a grace period so a
 * read aimed at the old namespace just before the swap still finds it whole.
 *
 * @example
 * ```ts
 * const store = await RedisOnlineStore.open({ url: 'redis://127.0.0.1:6379', keyPrefix: 'recstream', views, logger });
 * await store.createNamespace('blue');
 * await store.write('blue', [{ view: 'user', key: 'u1', value: bytes, version: 42 }]);
 * await store.activate('blue');
 * const bundle = await store.bundle('u1', { items: ['i1', 'i2'] });
 * ```
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { OnlineStoreError, OnlineStoreUnavailableError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { describeUser } from '../../observability/user-hash.js';
import { sleep } from '../../retry.js';
import { assembleBundle, planBundle } from '../bundle-plan.js';
import type {
  BundleRequest,
  DropReport,
  NamespaceInfo,
  OnlineBundle,
  OnlineStore,
  OnlineStoreStats,
  OnlineWrite,
  OnlineWriter,
  SourceProgress,
  WriteReport,
} from '../online-store.js';
import type { FeatureView, ViewRegistry } from '../views.js';
import { RedisCommands, type ScriptCommands } from './commands.js';
import { closeRedis, connectRedis } from './connection.js';
import { checkName, RedisKeys } from './keys.js';
import { acquireLease, releaseLease, renewLease } from './writer-lease.js';

export interface RedisOnlineStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (RECSTREAM_REDIS_URL). */
  readonly url: string;
  /** Prefix of every key (RECSTREAM_REDIS_KEY_PREFIX). */
  readonly keyPrefix: string;
  readonly views: ViewRegistry;
  readonly logger: Logger;
  /**
   * How long `drop` waits between unregistering a namespace and deleting its
   * keys, for reads aimed at it just before a swap and a materializer batch
   * in flight. Default 5000.
   */
  readonly dropGraceMs?: number;
  /** Keys per SCAN + UNLINK step of `drop`. Default 1000. */
  readonly dropBatch?: number;
  readonly commandTimeoutMs?: number;
}

/** Attempts of a read when the pointer keeps moving under it (two swaps in a row). */
const READ_ATTEMPTS = 3;

export class RedisOnlineStore implements OnlineStore, OnlineWriter {
  readonly kind = 'redis' as const;
  readonly views: ViewRegistry;
  private readonly keys: RedisKeys;
  private readonly logger: Logger;
  private readonly commands: RedisCommands;
  /** The namespace the last read found active; reads aim at it and check the pointer in the same pipeline. */
  private lastActive: string | undefined;

  private constructor(
    private readonly client: Redis,
    private readonly options: RedisOnlineStoreOptions,
  ) {
    this.views = options.views;
    this.keys = new RedisKeys(options.keyPrefix);
    this.commands = new RedisCommands(client);
    this.logger = options.logger;
  }

  /** Connects (a ConnectionError when Redis cannot be reached) and loads nothing else. */
  static async open(options: RedisOnlineStoreOptions): Promise<RedisOnlineStore> {
    checkName('key prefix', options.keyPrefix);
    const client = await connectRedis({
      url: options.url,
      logger: options.logger,
      commandTimeoutMs: options.commandTimeoutMs,
    });
    return new RedisOnlineStore(client, options);
  }

  async get<V = unknown>(view: string, key: string): Promise<V | undefined> {
    return (await this.getMany<V>(view, [key]))[0];
  }

  async getMany<V = unknown>(view: string, keys: readonly string[]): Promise<(V | undefined)[]> {
    const v = this.views.get(view);
    const distinct = [...new Set(keys)];
    const { namespace, results } = await this.readActive(`read view ${v.name}`, (pipeline, ns) => {
      for (const key of distinct) pipeline.hgetBuffer(this.keys.entity(ns, v.entity, key), v.name);
    });
    if (namespace === undefined) throw noNamespace();
    const byKey = new Map(distinct.map((key, i) => [key, this.decode(v, key, results[i] as Buffer | null)]));
    return keys.map((key) => byKey.get(key) as V | undefined);
  }

  async bundle(userId: string, request: BundleRequest = {}): Promise<OnlineBundle> {
    const reads = planBundle(this.views, userId, request);
    // One HMGET per entity: all of a user's views (one hash, one slot) in one command.
    const groups = new Map<string, { entity: string; key: string; fields: string[]; reads: number[] }>();
    reads.forEach((read, i) => {
      const id = `${read.view.entity}\u0000${read.key}`;
      let group = groups.get(id);
      if (!group) {
        group = { entity: read.view.entity, key: read.key, fields: [], reads: [] };
        groups.set(id, group);
      }
      group.fields.push(read.view.name);
      group.reads.push(i);
    });
    const { namespace, results } = await this.readActive('read bundle', (pipeline, ns) => {
      for (const g of groups.values())
        pipeline.hmgetBuffer(this.keys.entity(ns, g.entity, g.key), ...g.fields);
    });
    if (namespace === undefined) return assembleBundle('', userId, reads, [], ['namespace']);
    const values: unknown[] = new Array(reads.length);
    let g = 0;
    for (const group of groups.values()) {
      const row = results[g++] as (Buffer | null)[];
      group.reads.forEach((readIndex, field) => {
        const read = reads[readIndex]!;
        values[readIndex] = this.decode(read.view, read.key, row[field] ?? null);
      });
    }
    return assembleBundle(namespace, userId, reads, values, []);
  }

  async activeNamespace(): Promise<string | undefined> {
    const active = await this.commands.call('read the active namespace', () =>
      this.client.get(this.keys.activePointer),
    );
    return active ?? undefined;
  }

  async namespaces(): Promise<NamespaceInfo[]> {
    const pipeline = this.client.pipeline();
    pipeline.get(this.keys.activePointer);
    pipeline.hgetall(this.keys.namespaces);
    pipeline.hgetall(this.keys.retired);
    const [active, created, retired] = (await this.commands.exec(pipeline, 'list namespaces')) as [
      string | null,
      Record<string, string>,
      Record<string, string>,
    ];
    return Object.entries(created)
      .map(([name, ts]): NamespaceInfo => {
        const retiredTs = retired[name] === undefined ? undefined : Number(retired[name]);
        const state = name === active ? 'active' : retiredTs === undefined ? 'building' : 'retired';
        return { name, state, createdTs: Number(ts), ...(state === 'retired' ? { retiredTs } : {}) };
      })
      .sort((a, b) => a.createdTs - b.createdTs || (a.name < b.name ? -1 : 1));
  }

  async createNamespace(namespace: string): Promise<void> {
    checkName('namespace', namespace);
    await this.commands.call(`create namespace ${namespace}`, () =>
      this.client.hsetnx(this.keys.namespaces, namespace, String(Date.now())),
    );
  }

  async activate(namespace: string): Promise<void> {
    checkName('namespace', namespace);
    const previous = await this.commands
      .call(`activate namespace ${namespace}`, () =>
        this.commands.scripts.recstreamActivate(
          this.keys.activePointer,
          this.keys.namespaces,
          this.keys.retired,
          namespace,
          String(Date.now()),
        ),
      )
      .catch((err: unknown) => {
        if (err instanceof OnlineStoreError && /NONAMESPACE/.test(err.message))
          throw new OnlineStoreError(
            `namespace ${namespace} does not exist; fill it first (recstream materialize --namespace ${namespace})`,
          );
        throw err;
      });
    this.lastActive = namespace;
    this.logger.info({ namespace, previous: previous ?? null }, 'online store namespace activated');
  }

  async drop(namespace: string): Promise<DropReport> {
    const pattern = this.keys.namespacePattern(namespace);
    await this.commands
      .call(`drop namespace ${namespace}`, () =>
        this.commands.scripts.recstreamUnregister(
          this.keys.activePointer,
          this.keys.namespaces,
          this.keys.retired,
          namespace,
        ),
      )
      .catch((err: unknown) => {
        if (err instanceof OnlineStoreError && /ACTIVENAMESPACE/.test(err.message))
          throw new OnlineStoreError(
            `namespace ${namespace} is active; activate another namespace before dropping this one`,
          );
        throw err;
      });
    // Unregistered: materializers stop at their next progress commit, no new read aims here.
    await sleep(this.options.dropGraceMs ?? 5000);
    let removed = 0;
    let cursor = '0';
    const batch = this.options.dropBatch ?? 1000;
    do {
      const [next, keys] = await this.commands.call(`scan namespace ${namespace}`, () =>
        this.client.scan(cursor, 'MATCH', pattern, 'COUNT', batch),
      );
      if (keys.length > 0)
        removed += await this.commands.call(`unlink keys of ${namespace}`, () => this.client.unlink(...keys));
      cursor = next;
    } while (cursor !== '0');
    this.logger.info({ namespace, removed }, 'online store namespace dropped');
    return { namespace, removed };
  }

  async write(namespace: string, writes: readonly OnlineWrite[]): Promise<WriteReport> {
    checkName('namespace', namespace);
    if (writes.length === 0) return { applied: 0, skipped: 0 };
    const pipeline = this.client.pipeline() as unknown as ChainableCommander & ScriptCommands;
    for (const w of writes) {
      const view = this.views.get(w.view);
      if (!Number.isSafeInteger(w.version) || w.version < 0)
        throw new OnlineStoreError(
          `write to view ${view.name}: version ${w.version} is not an offset (a safe integer >= 0)`,
        );
      pipeline.recstreamVersionedSet(
        this.keys.entity(namespace, view.entity, w.key),
        view.name,
        String(w.version),
        String(w.floor ?? -1),
        w.value === null ? 'd' : 'p',
        w.value ?? '',
      );
    }
    const results = await this.commands.exec(pipeline, `write to namespace ${namespace}`);
    const applied = results.reduce<number>((n, r) => n + (r === 1 ? 1 : 0), 0);
    return { applied, skipped: writes.length - applied };
  }

  async progress(namespace: string, topics: readonly string[]): Promise<SourceProgress[]> {
    checkName('namespace', namespace);
    const fields = await this.commands.call(`read progress of ${namespace}`, () =>
      this.client.hgetall(this.keys.progress(namespace)),
    );
    const wanted = new Set(topics);
    const out: SourceProgress[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (field.endsWith('@applied')) continue;
      const slash = field.lastIndexOf('/');
      const topic = field.slice(0, slash);
      if (!wanted.has(topic)) continue;
      const applied = fields[`${field}@applied`];
      out.push({
        topic,
        partition: Number(field.slice(slash + 1)),
        position: Number(value),
        applied: applied === undefined ? -1 : Number(applied),
      });
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  async commitProgress(namespace: string, progress: readonly SourceProgress[]): Promise<void> {
    checkName('namespace', namespace);
    if (progress.length === 0) return;
    const key = this.keys.progress(namespace);
    const fields: string[] = [];
    for (const p of progress) {
      const field = `${p.topic}/${p.partition}`;
      fields.push(field, String(p.position), `${field}@applied`, String(p.applied));
    }
    const pipeline = this.client.pipeline();
    pipeline.hset(key, ...fields);
    pipeline.hexists(this.keys.namespaces, namespace);
    const [, exists] = await this.commands.exec(pipeline, `commit progress of ${namespace}`);
    if (exists === 0) {
      await this.commands.call(`unlink progress of ${namespace}`, () => this.client.unlink(key));
      throw new OnlineStoreError(
        `namespace ${namespace} was dropped (or never created) while being written; stop writing into it`,
      );
    }
  }

  acquireLease(namespace: string, owner: string, ttlMs: number): Promise<void> {
    return acquireLease(this.commands, this.keys, namespace, owner, ttlMs);
  }

  renewLease(namespace: string, owner: string, ttlMs: number): Promise<'renewed' | 'reacquired'> {
    return renewLease(this.commands, this.keys, namespace, owner, ttlMs);
  }

  releaseLease(namespace: string, owner: string): Promise<void> {
    return releaseLease(this.commands, this.keys, namespace, owner);
  }

  stats(): OnlineStoreStats {
    return { roundTrips: this.commands.roundTrips };
  }

  async close(): Promise<void> {
    await closeRedis(this.client);
  }

  /**
   * One pipeline: the pointer, then `add`'s reads of the namespace last seen
   * active. Repeats on the new namespace when the pointer moved.
   */
  private async readActive(
    what: string,
    add: (pipeline: ChainableCommander, namespace: string) => void,
  ): Promise<{ namespace: string | undefined; results: unknown[] }> {
    let aimed = this.lastActive;
    for (let attempt = 1; ; attempt++) {
      const pipeline = this.client.pipeline();
      pipeline.get(this.keys.activePointer);
      if (aimed !== undefined) add(pipeline, aimed);
      const [active, ...results] = await this.commands.exec(pipeline, what);
      const current = (active as string | null) ?? undefined;
      this.lastActive = current;
      if (current === undefined) return { namespace: undefined, results: [] };
      // After repeated swaps, the namespace read one round trip ago is still whole (drop waits a grace period).
      if (aimed === current || (attempt >= READ_ATTEMPTS && aimed !== undefined))
        return { namespace: aimed, results };
      aimed = current;
    }
  }

  private decode(view: FeatureView, key: string, bytes: Buffer | null): unknown {
    if (bytes === null) return undefined;
    try {
      return view.codec.decode(bytes);
    } catch (err) {
      throw new OnlineStoreError(
        `view ${view.name}: the value of ${describeKey(view.entity, key)} does not decode with the view's codec (${(err as Error).message}); rebuild the namespace after changing a codec`,
        err,
      );
    }
  }
}

function noNamespace(): OnlineStoreUnavailableError {
  return new OnlineStoreUnavailableError(
    'no online-store namespace is active yet; `recstream materialize` fills and activates the first one',
  );
}

/** User ids never appear raw in messages (they end up in logs). */
function describeKey(entity: string, key: string): string {
  return entity === 'user' ? describeUser(key) : `${entity} ${JSON.stringify(key)}`;
}
