/**
 * The ingest's durable memory of accepted event ids: a RocksDB database in
 * `<data dir>/ingest/dedup` mapping each id to its content fingerprint, plus
 * a **checkpoint** — per partition of rec.interactions, the offset below
 * which every record is indexed. Both are written in one atomic batch, so
 * after a kill -9 the index is exactly "everything below the checkpoint",
 * and the records after it are read back from the log on start (`rebuild`).
 *
 * Retention: ids live in generations of `windowMs` of wall-clock time (key
 * prefix = generation number). A lookup reads the current and the previous
 * generation, and older ones are deleted, so an id is remembered for at
 * least `windowMs` and at most twice that — without a per-entry expiry scan.
 *
 * @example
 * ```ts
 * const index = await DedupIndex.open('/data/ingest/dedup', { windowMs: 86_400_000 });
 * await index.record([{ id: 'e1', fingerprint }], new Map([[0, 42]]));
 * (await index.lookup(['e1', 'e2'])); // [fingerprint, undefined]
 * ```
 */
import { RocksDbEngine } from '../../runtime/state/rocksdb/rocksdb-engine.js';

export interface IndexedEvent {
  readonly id: string;
  readonly fingerprint: Buffer;
}

export interface DedupIndexOptions {
  readonly windowMs: number;
  /** Wall clock; tests move it to cross generations. */
  readonly now?: () => number;
}

const ENTRY = 0x45; // 'E' + 4-byte generation + id
const CHECKPOINT_KEY = Buffer.from('C:rec.interactions');

export class DedupIndex {
  private clearedBelow = -1;

  private constructor(
    private readonly engine: RocksDbEngine,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  static async open(dir: string, options: DedupIndexOptions): Promise<DedupIndex> {
    const engine = await RocksDbEngine.open(dir, { cacheSize: 32 << 20 });
    const index = new DedupIndex(engine, options.windowMs, options.now ?? Date.now);
    await index.expire();
    return index;
  }

  /** The fingerprint remembered for each id, or undefined. One RocksDB round trip. */
  async lookup(ids: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (ids.length === 0) return [];
    const generation = this.generation();
    const keys: Buffer[] = new Array(ids.length * 2);
    for (let i = 0; i < ids.length; i++) {
      keys[2 * i] = entryKey(generation, ids[i]!);
      keys[2 * i + 1] = entryKey(generation - 1, ids[i]!);
    }
    const values = await this.engine.getMany(keys);
    return ids.map((_, i) => values[2 * i] ?? values[2 * i + 1]);
  }

  /** Adds entries and moves the checkpoint, atomically. */
  async record(entries: readonly IndexedEvent[], checkpoint: ReadonlyMap<number, number>): Promise<void> {
    const generation = this.generation();
    const writes = entries.map((e) => ({ key: entryKey(generation, e.id), value: e.fingerprint }));
    writes.push({ key: CHECKPOINT_KEY, value: Buffer.from(JSON.stringify(Object.fromEntries(checkpoint))) });
    await this.engine.write(writes);
    if (generation - 1 > this.clearedBelow) await this.expire();
  }

  /** Per partition, the first offset not yet indexed; empty for a new index. */
  async checkpoint(): Promise<Map<number, number>> {
    const raw = await this.engine.get(CHECKPOINT_KEY);
    const out = new Map<number, number>();
    if (raw === undefined) return out;
    for (const [partition, offset] of Object.entries(JSON.parse(raw.toString()) as Record<string, number>)) {
      out.set(Number(partition), offset);
    }
    return out;
  }

  /** Ids in the live generations (tests, metrics). */
  count(): Promise<number> {
    const generation = this.generation();
    return this.engine.count({ gte: entryPrefix(generation - 1), lt: entryPrefix(generation + 1) });
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  private generation(): number {
    return Math.floor(this.now() / this.windowMs);
  }

  /** Deletes the generations older than the previous one. */
  private async expire(): Promise<void> {
    const keepFrom = this.generation() - 1;
    await this.engine.clearRange(entryPrefix(0), entryPrefix(keepFrom));
    this.clearedBelow = keepFrom;
  }
}

function entryPrefix(generation: number): Buffer {
  const key = Buffer.allocUnsafe(5);
  key[0] = ENTRY;
  key.writeUInt32BE(Math.max(0, generation), 1);
  return key;
}

function entryKey(generation: number, id: string): Buffer {
  const length = Buffer.byteLength(id);
  const key = Buffer.allocUnsafe(5 + length);
  key[0] = ENTRY;
  key.writeUInt32BE(Math.max(0, generation), 1);
  key.write(id, 5);
  return key;
}
