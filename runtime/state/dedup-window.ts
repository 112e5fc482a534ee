/**
 * The ids a processor has already taken, remembered over a horizon of
 * stream time in bounded state: a segmented window over one runtime store
 * (RocksDB, changelogged, restored like every other store).
 *
 * An id is filed in the one-hour segment of the task's stream time (the
 * largest event time of the ids taken so far) when it arrives, whatever its
 * own event time, so a copy of a months-old event that arrives again (a
 * re-imported file) is still recognised. The window keeps the newest
 * `horizon / 1 h + 1` segments that hold ids and deletes older ones whole,
 * a day's worth at a time (once 24 more segments hold ids), in one scan of
 * the store: deleting each hour's segment on its own cost a scan per hour,
 * a fifth of a counting thread's time over a month of history. An id is
 * therefore remembered at least `horizonMs` of stream time after it
 * arrived, and at most about a day longer. Where stream time skipped hours without ids (a bulk import in
 * random order, a quiet night, one event stamped years ahead) ids are kept
 * longer, never in more segments: state stays bounded, and one wrong clock
 * does not wipe the memory. A copy arriving after its id was dropped is
 * taken as new.
 *
 * Store layout (values JSON):
 *
 * ```
 * meta                           { segments: [segment numbers holding ids, ascending], chunks, duplicates }
 * id/<id>                        event time of the first copy: one read decides
 * seg/<segment 12 hex>/<chunk 4 hex>  up to 512 ids of the segment, in arrival order
 * ```
 *
 * A segment lists its ids in chunks rather than under a key each: one key
 * written per id instead of two, and the current chunk is rewritten once
 * per commit, not once per id.
 *
 * Two windows share a store under different `keyPrefix`es, each with its
 * own stream time (ids of two input topics: a window's segments must not
 * depend on how the topics interleave).
 *
 * `meta` and the current chunk are held in memory, loaded in `load` and
 * put back on every change. An id is read once and rarely again, so
 * declare the store with `cacheEntries: 0` (`DEDUP_STORE_CACHE_ENTRIES`):
 * caching every id after its commit only churned the cache.
 *
 * @example
 * ```ts
 * const seen = new DedupWindow(ctx.store(EVENT_IDS_STORE), { horizonMs: 7 * 86_400_000 });
 * await seen.load();
 * if (!(await seen.firstSeen(event.event_id, event.ts))) return; // a duplicate: dropped
 * ```
 */
import { jsonCodec } from './codecs/index.js';
import type { KeyValueStore, ValueCodec } from './store.js';

/** Stream time one segment covers. */
export const DEDUP_SEGMENT_MS = 3_600_000;

/** Ids listed under one chunk key of a segment. */
export const DEDUP_CHUNK_IDS = 512;

/** Chunks of dropped segments read and deleted at a time. */
const DROP_CHUNKS = 16;

/** Segments past those kept that hold ids before the oldest are deleted, all in one scan. */
export const DEDUP_DROP_SLACK_SEGMENTS = 24;

/** Store `meta` value. */
export interface DedupMeta {
  /** Segments holding ids, ascending; the last is the current one. */
  segments: number[];
  /** Chunks of the current segment; the last is being filled. */
  chunks: number;
  /** Copies dropped because their id was remembered. */
  duplicates: number;
}

/** A value of a dedup store: `DedupMeta` under `meta`, a chunk of ids, or an event time. */
export type DedupValue = DedupMeta | string[] | number;

/** The codec to declare a dedup store with. */
export const dedupCodec: ValueCodec<DedupValue> = jsonCodec<DedupValue>();

/** The read cache to declare a dedup store with: none (the window holds what it reads again). */
export const DEDUP_STORE_CACHE_ENTRIES = 0;

export interface DedupWindowOptions {
  /** Stream time an id is remembered for at least. */
  readonly horizonMs: number;
  /** Prepended to every key of this window; default none. */
  readonly keyPrefix?: string;
}

export class DedupWindow {
  /** Segments kept: every segment that can hold stream time within the horizon, and the current one. */
  private readonly keep: number;
  private readonly metaKey: string;
  private readonly idPrefix: string;
  private readonly segmentPrefix: string;
  /** The store's `meta`, replaced (never changed in place) and put back on change. */
  private meta: DedupMeta = { segments: [], chunks: 0, duplicates: 0 };
  /** The chunk being filled: ids appended in place and the array put back, as stores allow. */
  private chunk: string[] = [];

  constructor(
    private readonly store: KeyValueStore<DedupValue>,
    options: DedupWindowOptions,
  ) {
    this.keep = Math.ceil(options.horizonMs / DEDUP_SEGMENT_MS) + 1;
    const prefix = options.keyPrefix ?? '';
    this.metaKey = `${prefix}meta`;
    this.idPrefix = `${prefix}id/`;
    this.segmentPrefix = `${prefix}seg/`;
  }

  /** Reads the committed `meta` and current chunk; call once, in the processor's `init`. */
  async load(): Promise<void> {
    const meta = (await this.store.get(this.metaKey)) as DedupMeta | undefined;
    if (meta === undefined) return;
    this.meta = meta;
    const current = this.currentChunkKey();
    this.chunk = current === undefined ? [] : [...(((await this.store.get(current)) as string[]) ?? [])];
  }

  /**
   * Whether `id` is new. A new id is remembered from now on, filed at
   * `ts` or the stream time, whichever is later; a remembered one is
   * counted as a duplicate.
   */
  async firstSeen(id: string, ts: number): Promise<boolean> {
    if ((await this.store.get(this.idPrefix + id)) !== undefined) {
      this.setMeta({ ...this.meta, duplicates: this.meta.duplicates + 1 });
      return false;
    }
    const current = this.meta.segments.at(-1) ?? -1;
    const segment = Math.max(current, Math.floor(ts / DEDUP_SEGMENT_MS), 0);
    if (segment !== current) await this.open(segment);
    else if (this.chunk.length === DEDUP_CHUNK_IDS) this.nextChunk();
    this.store.put(this.idPrefix + id, ts);
    this.chunk.push(id);
    this.store.put(this.currentChunkKey()!, this.chunk);
    return true;
  }

  /** Event time of the copy of `id` taken, while it is remembered. */
  async takenAt(id: string): Promise<number | undefined> {
    return (await this.store.get(this.idPrefix + id)) as number | undefined;
  }

  private setMeta(meta: DedupMeta): void {
    this.meta = meta;
    this.store.put(this.metaKey, meta);
  }

  private currentChunkKey(): string | undefined {
    const segment = this.meta.segments.at(-1);
    return segment === undefined ? undefined : this.chunkKey(segment, this.meta.chunks - 1);
  }

  private nextChunk(): void {
    this.chunk = [];
    this.setMeta({ ...this.meta, chunks: this.meta.chunks + 1 });
  }

  /**
   * Makes `segment` the current one, with an empty first chunk; once a
   * day's worth of segments more than the window keeps hold ids, deletes
   * the oldest down to what it keeps.
   */
  private async open(segment: number): Promise<void> {
    const segments = [...this.meta.segments, segment];
    if (segments.length > this.keep + DEDUP_DROP_SLACK_SEGMENTS) {
      const dropped = segments.splice(0, segments.length - this.keep);
      await this.drop(dropped[0]!, dropped.at(-1)!);
    }
    this.chunk = [];
    this.setMeta({ ...this.meta, segments, chunks: 1 });
  }

  /** Deletes segments `first` to `last` with their ids: every segment between them is dropped too. */
  private async drop(first: number, last: number): Promise<void> {
    let gte = this.chunkKey(first, 0);
    const lt = this.chunkKey(last + 1, 0);
    for (;;) {
      const chunks: [string, string[]][] = [];
      for await (const [key, ids] of this.store.range({ gte, lt, limit: DROP_CHUNKS }))
        chunks.push([key, ids as string[]]);
      for (const [key, ids] of chunks) {
        for (const id of ids) this.store.delete(this.idPrefix + id);
        this.store.delete(key);
      }
      if (chunks.length < DROP_CHUNKS) return;
      // The least key after the last one read.
      gte = `${chunks.at(-1)![0]}\u0000`;
    }
  }

  private chunkKey(segment: number, chunk: number): string {
    return `${this.segmentPrefix}${segment.toString(16).padStart(12, '0')}/${chunk.toString(16).padStart(4, '0')}`;
  }
}
