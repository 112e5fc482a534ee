/**
 * The online store port (Feast's online store): what responders read to
 * rank for one user. Data is organised in **feature views** (`user`, `item`,
 * `item_popularity_by_country`, …), each a map from an entity key to a value
 * encoded with the view's codec. Back-ends:
 *
 * - `redis/`: a materialized copy in Redis, written by the materializer from
 *   the feature stores' changelogs (`OnlineWriter`, versioned by offset);
 * - `in-process/`: the processors' own stores, read where they run
 *   (interactive queries, like Kafka Streams' `store()`).
 *
 * Both pass `online-store.contract.ts`. Every key lives in a **namespace**;
 * one namespace is active and serves reads. A blue/green rebuild fills a new
 * namespace while the active one serves, `activate`s it (an atomic pointer
 * swap) and `drop`s the old one.
 *
 * @example
 * ```ts
 * const store = await openOnlineStore(config, await onlineViews(serde), logger, lookup);
 * const bundle = await store.bundle('u42', { items: ['i1', 'i7'] });
 * const user = userValue(bundle, userView);       // typed by the view's codec
 * const popularity = itemValue(bundle, itemView, 'i7');
 * ```
 */
import type { ViewRegistry } from './views.js';

/** What one call to `bundle` reads: the user's views and the views of some items. */
export interface BundleRequest {
  /** Item ids whose item views to read (candidates to rank). Default none. */
  readonly items?: readonly string[];
  /** Views of entity `user` to read; default every one registered. */
  readonly userViews?: readonly string[];
  /** Views of entity `item` to read for each item; default every one registered. */
  readonly itemViews?: readonly string[];
  /** Further lookups of any view by key (a segment's popularity for cold start). */
  readonly lookups?: readonly { readonly view: string; readonly keys: readonly string[] }[];
}

/** Everything a responder needs for one user, read in one round trip. */
export interface OnlineBundle {
  /** The namespace the values were read from. */
  readonly namespace: string;
  readonly userId: string;
  /** View name → value, for the user's views that hold a value. */
  readonly user: ReadonlyMap<string, unknown>;
  /** Item id → (view name → value), for each requested item with at least one value. */
  readonly items: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
  /** View name → (key → value) for `lookups`, present keys only. */
  readonly lookups: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
  /**
   * Parts that could not be read now (in-process: `application/partition` of
   * a task that stayed closed; any back-end: `namespace` when none is active).
   * Their values are missing; serve non-personalised results for them.
   */
  readonly unavailable: readonly string[];
}

/** A namespace and how it is used. */
export interface NamespaceInfo {
  readonly name: string;
  /** `active`: serving; `building`: being filled; `retired`: was active, may be dropped. */
  readonly state: 'active' | 'building' | 'retired';
  readonly createdTs: number;
  /** When it stopped being active (retired only). */
  readonly retiredTs?: number;
}

export interface DropReport {
  readonly namespace: string;
  /** Keys deleted (Redis) or task stores released (in-process). */
  readonly removed: number;
}

/** Work done by the store, for the one-round-trip checks of the contract and for metrics. */
export interface OnlineStoreStats {
  /**
   * Network round trips (Redis: pipelines and single commands sent) or
   * batched engine reads (in-process: one per task read), since the store opened.
   */
  readonly roundTrips: number;
}

/**
 * The read side and the namespace pointer: what responders and SRE tools use.
 *
 * @example
 * ```ts
 * const store = await openOnlineStore(config, views, logger, lookup);
 * const bundle = await store.bundle('u42', { items: ['i7'] });
 * const user = userValue(bundle, userView);
 * ```
 */
export interface OnlineStore {
  readonly kind: 'redis' | 'in-process';
  readonly views: ViewRegistry;
  /** The value of `key` in `view` of the active namespace, decoded by the view's codec. */
  get<V = unknown>(view: string, key: string): Promise<V | undefined>;
  /** Values in the order of `keys` (duplicates allowed), one round trip. */
  getMany<V = unknown>(view: string, keys: readonly string[]): Promise<(V | undefined)[]>;
  /** The user's views, the requested items' views and any lookups, in one round trip. */
  bundle(userId: string, request?: BundleRequest): Promise<OnlineBundle>;
  /** The namespace reads go to; undefined when none is active yet. */
  activeNamespace(): Promise<string | undefined>;
  namespaces(): Promise<NamespaceInfo[]>;
  /** Atomically makes `namespace` the one every following read uses. */
  activate(namespace: string): Promise<void>;
  /**
   * Deletes a namespace that is not active (Redis: SCAN + UNLINK in batches,
   * after a grace period for reads already aimed at it). Refuses the active one.
   */
  drop(namespace: string): Promise<DropReport>;
  stats(): OnlineStoreStats;
  close(): Promise<void>;
}

/**
 * One versioned write. `version` is the offset of the changelog record it
 * comes from; the write is applied only if it is newer than the stored
 * version, so a replay or a duplicate never moves a view backwards.
 */
export interface OnlineWrite {
  readonly view: string;
  readonly key: string;
  /** Bytes in the view's codec; null deletes the key from the view. */
  readonly value: Buffer | null;
  readonly version: number;
  /**
   * Every version of this write's source at or below `floor` was applied
   * before: a key absent now was deleted since, so a write at or below the
   * floor does not re-create it. Deletes leave no tombstone behind (an
   * opted-out user's keys are really gone); the floor is what keeps a
   * replayed older value from resurrecting them. Default -1 (no floor).
   */
  readonly floor?: number;
}

export interface WriteReport {
  readonly applied: number;
  /** Writes not newer than what the store holds (replays, duplicates). */
  readonly skipped: number;
}

/** How far a materializer has written one source partition into a namespace. */
export interface SourceProgress {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to read. */
  readonly position: number;
  /** Highest offset ever applied (kept across replays; the floor of later writes). -1: none. */
  readonly applied: number;
}

/** The write side of a materialized back-end (Redis): used by the materializer only. */
export interface OnlineWriter {
  /** Registers a namespace as `building` (no-op if it exists); it serves nothing until activated. */
  createNamespace(namespace: string): Promise<void>;
  /** Applies versioned writes to `namespace` in one round trip; order within the batch does not matter. */
  write(namespace: string, writes: readonly OnlineWrite[]): Promise<WriteReport>;
  /** The progress recorded for the sources of `topics` in `namespace`. */
  progress(namespace: string, topics: readonly string[]): Promise<SourceProgress[]>;
  /**
   * Records progress after the writes it covers succeeded. Fails with an
   * OnlineStoreError when the namespace was dropped meanwhile, so a
   * materializer left running does not re-create a dropped namespace.
   */
  commitProgress(namespace: string, progress: readonly SourceProgress[]): Promise<void>;
  /**
   * Takes the namespace's writer lease for `ttlMs`: one materializer writes
   * a namespace at a time, so its floors and progress are never overwritten
   * by another's older ones. Fails with a retriable OnlineStoreError naming
   * the holder when another owner has it.
   */
  acquireLease(namespace: string, owner: string, ttlMs: number): Promise<void>;
  /**
   * Extends the lease. `renewed`: still held; `reacquired`: it had expired
   * and nobody held it, so it is ours again but another owner may have
   * written meanwhile (reload the progress). Fails with a non-retriable
   * OnlineStoreError when another owner holds it now.
   */
  renewLease(namespace: string, owner: string, ttlMs: number): Promise<'renewed' | 'reacquired'>;
  /** Gives the lease up if `owner` holds it. */
  releaseLease(namespace: string, owner: string): Promise<void>;
}
