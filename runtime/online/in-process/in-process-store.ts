/**
 * The in-process back-end of the online store: interactive queries over the
 * processors' own stores, where they run (the embedded default, no Redis).
 * A binding names, per feature view, the application and store holding it;
 * a key is routed to its task with Kafka's partitioner, exactly as the
 * records that built it were.
 *
 * Reads see committed state only (`TaskState.readCommitted`): never a write
 * a crash or retry could take back, so a view never goes backwards. They do
 * not fail because a task is not ready, Kafka Streams' known pain: a task
 * that is reopening (closed and opened again after a retriable failure) is
 * waited for, up to `waitMs`, and a read that raced a close is retried on
 * the reopened task. Restores that take longer go to a new namespace while
 * the old one serves (blue/green); a task still missing after `waitMs` is
 * reported in `bundle().unavailable` (get/getMany: a retriable
 * OnlineStoreUnavailableError) so the responder serves non-personalised
 * results instead of crashing.
 *
 * Namespaces are sets of running tasks: `attach` a lookup per namespace,
 * `activate` swaps the pointer (a field assignment, so atomic for every
 * reader), `drop` detaches one and resolves once no read is still using it;
 * the caller then closes its runners.
 *
 * @example
 * ```ts
 * const store = new InProcessOnlineStore({ bindings: [{ view: userView, application: 'user-features', store: 'user' }] });
 * store.attach('default', runnersLookup(new Map([['user-features', runner]])));
 * await store.activate('default');
 * const bundle = await store.bundle('u42', { items: ['i1'] });
 * ```
 */
import { OnlineStoreError, OnlineStoreUnavailableError } from '../../errors.js';
import { partitionForKey } from '../../log/partitioner.js';
import { sleep } from '../../retry.js';
import { assembleBundle, planBundle } from '../bundle-plan.js';
import type {
  BundleRequest,
  DropReport,
  NamespaceInfo,
  OnlineBundle,
  OnlineStore,
  OnlineStoreStats,
} from '../online-store.js';
import { checkName } from '../redis/keys.js';
import { type FeatureView, ViewRegistry } from '../views.js';
import type { TaskLookup } from './task-lookup.js';

/** Where a feature view lives among the processors' stores. */
export interface InProcessBinding {
  // biome-ignore lint/suspicious/noExplicitAny: each view has its own value type.
  readonly view: FeatureView<any>;
  readonly application: string;
  readonly store: string;
  /**
   * The record key the application partitions by, for a key of this view.
   * Default: the key itself (stores keyed like their input records).
   */
  readonly routingKey?: (key: string) => string;
}

export interface InProcessOnlineStoreOptions {
  readonly bindings: readonly InProcessBinding[];
  /** How long a read waits for a task that is (re)opening. Default 5000 ms. */
  readonly waitMs?: number;
}

interface Namespace {
  readonly lookup: TaskLookup;
  readonly createdTs: number;
  retiredTs?: number;
  readers: number;
  drained?: () => void;
}

interface TaskRead {
  readonly application: string;
  readonly store: string;
  readonly partition: number;
  readonly keys: string[];
  readonly keyIndex: Map<string, number>;
  /** For each requested read, its index into `keys`. */
  readonly targets: { read: number; key: number }[];
}

/** How often a read looks again for a task that is not open. */
const POLL_MS = 10;

export class InProcessOnlineStore implements OnlineStore {
  readonly kind = 'in-process' as const;
  readonly views: ViewRegistry;
  private readonly bindings = new Map<string, InProcessBinding>();
  private readonly spaces = new Map<string, Namespace>();
  private readonly waitMs: number;
  private active: string | undefined;
  private reads = 0;
  private closed = false;

  constructor(options: InProcessOnlineStoreOptions) {
    this.views = new ViewRegistry(options.bindings.map((b) => b.view));
    for (const binding of options.bindings) this.bindings.set(binding.view.name, binding);
    this.waitMs = options.waitMs ?? 5000;
  }

  /** Adds a namespace served by the tasks `lookup` finds; it serves nothing until activated. */
  attach(namespace: string, lookup: TaskLookup): void {
    checkName('namespace', namespace);
    this.checkOpen();
    if (this.spaces.has(namespace)) throw new OnlineStoreError(`namespace ${namespace} is already attached`);
    this.spaces.set(namespace, { lookup, createdTs: Date.now(), readers: 0 });
  }

  async get<V = unknown>(view: string, key: string): Promise<V | undefined> {
    return (await this.getMany<V>(view, [key]))[0];
  }

  async getMany<V = unknown>(view: string, keys: readonly string[]): Promise<(V | undefined)[]> {
    const v = this.views.get(view);
    const { values, unavailable } = await this.readActive(keys.map((key) => ({ view: v, key })));
    if (unavailable.length > 0)
      throw new OnlineStoreUnavailableError(
        `view ${view}: ${unavailable.join(', ')} not available (no active namespace, an application not run in this process, or a task still closed after ${this.waitMs} ms)`,
      );
    return values as (V | undefined)[];
  }

  async bundle(userId: string, request: BundleRequest = {}): Promise<OnlineBundle> {
    const reads = planBundle(this.views, userId, request);
    const { namespace, values, unavailable } = await this.readActive(reads);
    return assembleBundle(namespace ?? '', userId, reads, values, unavailable);
  }

  async activeNamespace(): Promise<string | undefined> {
    return this.active;
  }

  async namespaces(): Promise<NamespaceInfo[]> {
    return [...this.spaces]
      .map(([name, space]): NamespaceInfo => {
        const state =
          name === this.active ? 'active' : space.retiredTs === undefined ? 'building' : 'retired';
        return {
          name,
          state,
          createdTs: space.createdTs,
          ...(state === 'retired' ? { retiredTs: space.retiredTs } : {}),
        };
      })
      .sort((a, b) => a.createdTs - b.createdTs || (a.name < b.name ? -1 : 1));
  }

  async activate(namespace: string): Promise<void> {
    this.checkOpen();
    const space = this.spaces.get(namespace);
    if (space === undefined)
      throw new OnlineStoreError(`namespace ${namespace} is not attached; attach its tasks first`);
    if (this.active === namespace) return;
    const previous = this.active === undefined ? undefined : this.spaces.get(this.active);
    if (previous) previous.retiredTs = Date.now();
    delete space.retiredTs;
    this.active = namespace;
  }

  /** Detaches a namespace that is not active; resolves once no read still uses its tasks. */
  async drop(namespace: string): Promise<DropReport> {
    checkName('namespace', namespace);
    if (this.active === namespace)
      throw new OnlineStoreError(
        `namespace ${namespace} is active; activate another namespace before dropping this one`,
      );
    const space = this.spaces.get(namespace);
    if (space === undefined) return { namespace, removed: 0 };
    this.spaces.delete(namespace);
    if (space.readers > 0) await new Promise<void>((resolve) => (space.drained = resolve));
    let removed = 0;
    for (const application of new Set([...this.bindings.values()].map((b) => b.application)))
      removed += space.lookup.partitions(application) ?? 0;
    return { namespace, removed };
  }

  stats(): OnlineStoreStats {
    return { roundTrips: this.reads };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.spaces.clear();
    this.active = undefined;
  }

  /** Reads on the namespace active when the call starts, pinned for the whole call. */
  private async readActive(
    reads: readonly { view: FeatureView; key: string }[],
  ): Promise<{ namespace: string | undefined; values: unknown[]; unavailable: string[] }> {
    this.checkOpen();
    const namespace = this.active;
    const space = namespace === undefined ? undefined : this.spaces.get(namespace);
    if (space === undefined) return { namespace, values: [], unavailable: ['namespace'] };
    space.readers++;
    try {
      return { namespace, ...(await this.readTasks(space.lookup, reads)) };
    } finally {
      if (--space.readers === 0) space.drained?.();
    }
  }

  private async readTasks(
    lookup: TaskLookup,
    reads: readonly { view: FeatureView; key: string }[],
  ): Promise<{ values: unknown[]; unavailable: string[] }> {
    const deadline = Date.now() + this.waitMs;
    const values: unknown[] = new Array(reads.length);
    const unavailable: string[] = [];
    // An application this process does not run is no passing state: it is reported at once, not waited for.
    const partitionCounts = new Map<string, number | undefined>();
    for (const read of reads) {
      const { application } = this.binding(read.view.name);
      if (!partitionCounts.has(application)) partitionCounts.set(application, lookup.partitions(application));
    }
    const tasks = new Map<string, TaskRead>();
    reads.forEach((read, index) => {
      const binding = this.binding(read.view.name);
      const count = partitionCounts.get(binding.application);
      if (count === undefined) {
        const what = `${binding.application}/*`;
        if (!unavailable.includes(what)) unavailable.push(what);
        return;
      }
      const partition = partitionForKey(binding.routingKey?.(read.key) ?? read.key, count);
      const id = `${binding.application}\u0000${binding.store}\u0000${partition}`;
      let task = tasks.get(id);
      if (!task) {
        task = {
          application: binding.application,
          store: binding.store,
          partition,
          keys: [],
          keyIndex: new Map(),
          targets: [],
        };
        tasks.set(id, task);
      }
      let keyIndex = task.keyIndex.get(read.key);
      if (keyIndex === undefined) {
        keyIndex = task.keys.push(read.key) - 1;
        task.keyIndex.set(read.key, keyIndex);
      }
      task.targets.push({ read: index, key: keyIndex });
    });
    await Promise.all(
      [...tasks.values()].map(async (task) => {
        const found = await this.readTask(lookup, task, deadline);
        if (found === undefined) {
          const what = `${task.application}/${task.partition}`;
          if (!unavailable.includes(what)) unavailable.push(what);
          return;
        }
        for (const t of task.targets) values[t.read] = found[t.key];
      }),
    );
    return { values, unavailable };
  }

  /** The committed values of one task's keys; undefined when the task stays closed until `deadline`. */
  private async readTask(
    lookup: TaskLookup,
    task: TaskRead,
    deadline: number,
  ): Promise<unknown[] | undefined> {
    for (;;) {
      const state = lookup.state(task.application, task.partition);
      if (state !== undefined && !state.isClosed()) {
        this.reads++;
        try {
          return await state.readCommitted(task.store, task.keys);
        } catch (err) {
          // Closed under the read (the runner reopening it): look it up again. Anything else is real.
          if (!state.isClosed()) throw err;
        }
      }
      if (Date.now() >= deadline) return undefined;
      await sleep(POLL_MS);
    }
  }

  /** Every registered view has a binding; for any other name `views.get` throws the error naming the known ones. */
  private binding(view: string): InProcessBinding {
    return this.bindings.get(view) ?? (this.views.get(view) as never);
  }

  private checkOpen(): void {
    if (this.closed) throw new OnlineStoreError('in-process online store used after close');
  }
}
