/**
 * The ids a processor has already taken, remembered over a horizon of
 * stream time in bounded state: a segmented window over one runtime store
 * (RocksDB, changelogged, restored like every other store).
 *
 * An id is filed in the one-hour segment of the task's stream time (the
 * largest event time of the ids taken so far) when it arrives, whatever its
 * own event time, so a copy of a months-old event that arrives again (a
 * re-imported file) is still recognised. The window keeps the newest
 * `horizon / 1 h + 1` segments that hold ids and deletes older ones whole;
 * an id is therefore remembered at least `horizonMs` of stream time after
 * it arrived. Where stream time skipped hours without ids (a bulk import in
 * random order, a quiet night, one event stamped years ahead) ids are kept
 * longer, never in more segments: state stays bounded, and one wrong clock
 * does not wipe the memory. A copy arriving after its id was dropped is
 * taken as new.
 *
 * Store layout (values JSON):
 *
 * ```
 * meta                       { segments: [occupied segment numbers, ascending], duplicates }
 * id/<id>                    event time of the first copy
 * seg/<segment, 12 hex>/<id> the same: the segment's index, scanned when it is dropped
 * ```
 *
 * Two windows share a store under different `keyPrefix`es, each with its
 * own stream time (ids of two input topics: a window's segments must not
 * depend on how the topics interleave).
 *
 * Nothing is cached in memory: every call reads the store, so the window is
 * exactly what was committed with the task's other stores.
 *
 * @example
 * ```ts
 * const seen = new DedupWindow(ctx.store(DEDUP_STORE), { horizonMs: 7 * 86_400_000 });
 * if (!(await seen.firstSeen(event.event_id, event.ts))) return; // a duplicate: dropped
 * ```
 */
import { jsonCodec } from './codecs/index.js';
import type { KeyValueStore, ValueCodec } from './store.js';

/** Stream time one segment covers. */
export const DEDUP_SEGMENT_MS = 3_600_000;

/** Store `meta` value. */
export interface DedupMeta {
  /** Segments holding ids, ascending; the last is the current one. */
  segments: number[];
  /** Copies dropped because their id was remembered. */
  duplicates: number;
}

/** A value of a dedup store: `DedupMeta` under `meta`, an event time elsewhere. */
export type DedupValue = DedupMeta | number;

/** The codec to declare a dedup store with. */
export const dedupCodec: ValueCodec<DedupValue> = jsonCodec<DedupValue>();

export interface DedupWindowOptions {
  /** Stream time an id is remembered for at least. */
  readonly horizonMs: number;
  /** Prepended to every key of this window; default none. */
  readonly keyPrefix?: string;
}

/** Keys of one dropped segment read and deleted at a time. */
const DROP_CHUNK = 1000;

export class DedupWindow {
  /** Segments kept: every segment that can hold stream time within the horizon, and the current one. */
  private readonly keep: number;
  private readonly metaKey: string;
  private readonly idPrefix: string;
  private readonly segmentPrefix: string;

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

  /**
   * Whether `id` is new. A new id is remembered from now on, filed at
   * `ts` or the stream time, whichever is later; a remembered one is
   * counted as a duplicate.
   */
  async firstSeen(id: string, ts: number): Promise<boolean> {
    const meta = await this.meta();
    if ((await this.store.get(this.idPrefix + id)) !== undefined) {
      this.store.put(this.metaKey, { ...meta, duplicates: meta.duplicates + 1 });
      return false;
    }
    const current = meta.segments.at(-1) ?? -1;
    const segment = Math.max(current, Math.floor(ts / DEDUP_SEGMENT_MS), 0);
    this.store.put(this.idPrefix + id, ts);
    this.store.put(this.segmentKey(segment, id), ts);
    if (segment !== current) await this.open(meta, segment);
    return true;
  }

  /** Event time of the copy of `id` taken, while it is remembered. */
  async takenAt(id: string): Promise<number | undefined> {
    return (await this.store.get(this.idPrefix + id)) as number | undefined;
  }

  private async meta(): Promise<DedupMeta> {
    return ((await this.store.get(this.metaKey)) as DedupMeta | undefined) ?? { segments: [], duplicates: 0 };
  }

  /** Makes `segment` the current one and deletes the segments that fall out. */
  private async open(meta: DedupMeta, segment: number): Promise<void> {
    const segments = [...meta.segments, segment];
    while (segments.length > this.keep) await this.drop(segments.shift()!);
    this.store.put(this.metaKey, { ...meta, segments });
  }

  private async drop(segment: number): Promise<void> {
    const prefix = this.segmentKey(segment, '');
    const lt = `${prefix.slice(0, -1)}0`; // '/' + 1: just past every key of the segment
    let gte = prefix;
    for (;;) {
      const keys: string[] = [];
      for await (const [key] of this.store.range({ gte, lt, limit: DROP_CHUNK })) keys.push(key);
      for (const key of keys) {
        this.store.delete(key);
        this.store.delete(this.idPrefix + key.slice(prefix.length));
      }
      if (keys.length < DROP_CHUNK) return;
      // The least key after the last one read.
      gte = `${keys.at(-1)}\u0000`;
    }
  }

  private segmentKey(segment: number, id: string): string {
    return `${this.segmentPrefix}${segment.toString(16).padStart(12, '0')}/${id}`;
  }
}
