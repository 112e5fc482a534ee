/**
 * The ingest's durable memory of accepted event ids: a RocksDB database in
 * `<data dir>/ingest/dedup` mapping each id to the generation it was
 * accepted in and its content fingerprint, plus a **checkpoint** — per
 * partition of rec.interactions, the offset below which every record is
 * indexed. Both are written in one atomic batch, so after a kill -9 the
 * index is exactly "everything below the checkpoint", and the records after
 * it are read back from the log on start (`rebuild.ts`).
 *
 * Retention: generations are `windowMs` of wall-clock time. An entry counts
 * while its generation is the current or the previous one, so an id is
 * remembered for at least `windowMs` and at most twice that. When the
 * generation moves on, a background sweep deletes the entries that no longer
 * count; until it reaches them they are simply ignored. One key per id keeps
 * a lookup at one RocksDB read per id.
 *
 * @example
 * ```ts
 * const index = await DedupIndex.open('/data/ingest/dedup', { windowMs: 86_400_000 });
 * await index.record([{ id: 'e1', fingerprint }], new Map([[0, 42]]));
 * await index.lookup(['e1', 'e2']); // [fingerprint, undefined]
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
  /** Where a failed background sweep is reported. */
  readonly onSweepError?: (err: unknown) => void;
}

const ENTRY = 0x45; // 'E' + id → 4-byte generation + fingerprint
const ENTRIES_END = Buffer.from([ENTRY + 1]);
const CHECKPOINT_KEY = Buffer.from('C:rec.interactions');
const SWEEP_BATCH = 1000;

export class DedupIndex {
  private sweptFor = -1;
  private sweeping: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly engine: RocksDbEngine,
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly onSweepError: (err: unknown) => void,
  ) {}

  static async open(dir: string, options: DedupIndexOptions): Promise<DedupIndex> {
    const engine = await RocksDbEngine.open(dir, { cacheSize: 32 << 20 });
    const index = new DedupIndex(
      engine,
      options.windowMs,
      options.now ?? Date.now,
      options.onSweepError ?? (() => {}),
    );
    index.maybeSweep();
    return index;
  }

  /** The fingerprint remembered for each id, or undefined. One RocksDB round trip. */
  async lookup(ids: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (ids.length === 0) return [];
    const values = await this.engine.getMany(ids.map(entryKey));
    const oldest = this.generation() - 1;
    return values.map((v) => (v !== undefined && v.readUInt32BE(0) >= oldest ? v.subarray(4) : undefined));
  }

  /** Adds entries and moves the checkpoint, atomically. */
  async record(entries: readonly IndexedEvent[], checkpoint: ReadonlyMap<number, number>): Promise<void> {
    const generation = this.generation();
    const writes = entries.map((e) => ({
      key: entryKey(e.id),
      value: entryValue(generation, e.fingerprint),
    }));
    writes.push({ key: CHECKPOINT_KEY, value: Buffer.from(JSON.stringify(Object.fromEntries(checkpoint))) });
    await this.engine.write(writes);
    this.maybeSweep();
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

  /** Entries stored, counting or not (tests: the sweep removed them). */
  stored(): Promise<number> {
    return this.engine.count({ gte: Buffer.from([ENTRY]), lt: ENTRIES_END });
  }

  /** Resolves when a running sweep has finished. */
  async idle(): Promise<void> {
    await this.sweeping;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sweeping;
    await this.engine.close();
  }

  private generation(): number {
    return Math.floor(this.now() / this.windowMs);
  }

  private maybeSweep(): void {
    const generation = this.generation();
    if (this.sweeping !== undefined || generation === this.sweptFor) return;
    this.sweeping = this.sweep(generation - 1).then(
      () => {
        this.sweptFor = generation;
        this.sweeping = undefined;
      },
      (err: unknown) => {
        // Entries that are not deleted are still ignored by lookups; the next record retries.
        this.sweeping = undefined;
        this.onSweepError(err);
      },
    );
  }

  /**
   * Deletes entries older than `oldest`, in batches, off the request path.
   * An id that expired and was accepted again while the sweep ran may lose
   * its new entry early; the platform's consumers still drop the duplicate.
   */
  private async sweep(oldest: number): Promise<void> {
    let deletes: { key: Buffer; value: null }[] = [];
    for await (const [key, value] of this.engine.iterate({ gte: Buffer.from([ENTRY]), lt: ENTRIES_END })) {
      if (this.closed) break;
      if (value.readUInt32BE(0) < oldest) deletes.push({ key, value: null });
      if (deletes.length === SWEEP_BATCH) {
        await this.engine.write(deletes);
        deletes = [];
      }
    }
    if (deletes.length > 0) await this.engine.write(deletes);
  }
}

function entryKey(id: string): Buffer {
  const key = Buffer.allocUnsafe(1 + Buffer.byteLength(id));
  key[0] = ENTRY;
  key.write(id, 1);
  return key;
}

function entryValue(generation: number, fingerprint: Buffer): Buffer {
  const value = Buffer.allocUnsafe(4 + fingerprint.length);
  value.writeUInt32BE(generation, 0);
  fingerprint.copy(value, 4);
  return value;
}
