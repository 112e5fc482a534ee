/**
 * The ANN index over item embeddings: a `usearch` HNSW
 * index keyed by integer item keys (the item vocabulary index for trained
 * items; usearch stores them as u64). Three metrics: `ip`, the inner
 * product over the vectors as they are, which on the model's
 * `[unit vector, prior]` item rows ranks as the training logit; `mips`,
 * the same ranking and scores searched as L2 distance over vectors lifted
 * onto a sphere (`sphere-lift.ts`), a metric the graph walk is built for,
 * where `ip`'s "distance" is none (how much that finds depends on how far
 * the item norms spread: `recstream bench ann`); and `cos` for plain unit
 * vectors. f32 by default; f16 and i8 are quantised variants whose
 * recall against exact search `measureRecallAt10` (`ann-recall.ts`)
 * measures. An i8 copy of a `mips` index ranks about as well as one of
 * `ip` (usearch scales vectors to unit length to convert them, and every
 * lifted row has the same norm), but its scores are usearch's i8 units,
 * not the inner product: it is measured, never served.
 *
 * usearch's JavaScript binding has no filtered search (the C++ predicate is
 * not exposed) and no per-query expansion, so `search` filters by
 * oversampling: it asks for more than `k` until `k` pass `exclude`.
 *
 * i8 under `ip` is approximate in a way f16 is not: usearch scales each
 * vector to unit length before quantising, so the i8 index ranks by the
 * cosine with each item row, not the dot product; the prior coordinate's
 * weight changes. Measure it before serving it.
 *
 * @example
 * ```ts
 * const index = AnnIndex.build({ dimensions: 65, metric: 'mips' }, keys, vectors);
 * index.config.maxNorm;                                                // the sphere's radius, kept with the file
 * index.save('/data/artifacts/indexes/items/v1/index.usearch');
 * const served = AnnIndex.load('/data/artifacts/indexes/items/v1/index.usearch', { metric: 'mips', maxNorm });
 * const { keys: found, scores } = served.search(userVector, 100, (key) => seen.has(key));
 * ```
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Index, MetricKind, ScalarKind } from 'usearch';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { CorruptDataError, StorageError } from '../runtime/errors.js';
import { InferenceError } from './errors.js';
import { maxNorm, norm, SphereLift } from './sphere-lift.js';

export type Quantization = 'f32' | 'f16' | 'i8';
export type Metric = 'ip' | 'cos' | 'mips';

export interface AnnIndexConfig {
  readonly dimensions: number;
  /**
   * `ip` (default): score = dot product; `mips`: score = dot product,
   * searched by L2 over vectors lifted onto a sphere; `cos`: cosine similarity.
   * `dimensions` are the vectors' as given either way (a `mips` file holds one more).
   */
  readonly metric?: Metric;
  /**
   * `mips` only: the sphere's radius, the largest item norm when the index
   * was built (`build` measures it when not given; `load` must be given the
   * one the index was built with). 0 under the other metrics.
   */
  readonly maxNorm?: number;
  /** Scalar type the vectors are stored as; default f32. */
  readonly quantization?: Quantization;
  /** HNSW edges per node; default 16. */
  readonly connectivity?: number;
  /** Candidates kept while inserting; default 128. */
  readonly expansionAdd?: number;
  /** Candidates kept while searching (at least `k` is used); default 256. */
  readonly expansionSearch?: number;
}

/** Search results, best first. */
export interface AnnMatches {
  readonly keys: number[];
  /** Higher is better: the dot product (ip, mips) or cosine (cos); for i8 under ip, the cosine. */
  readonly scores: number[];
}

const METRIC = { ip: MetricKind.IP, cos: MetricKind.Cos, mips: MetricKind.L2sq } as const;
const SCALAR = { f32: ScalarKind.F32, f16: ScalarKind.F16, i8: ScalarKind.I8 } as const;
// Codes in a saved index's header: usearch's metric_kind_t (a character) and scalar_kind_t.
// Only a lifted index is stored under L2 ('e', euclidean), so the file says it is `mips`.
const METRIC_CODE: Record<string, Metric> = { i: 'ip', c: 'cos', e: 'mips' };
const SCALAR_CODE: Record<number, Quantization> = { 11: 'f32', 12: 'f16', 23: 'i8' };
// i8 components are the unit-length vector's × 127, and usearch reports i8 inner products in those units.
const I8_UNIT = 127 * 127;
// magic (7), version (3 × u16), metric, scalar, key and slot kinds (1 each), 3 × u64 counts, multi: padded to 64.
const HEAD_BYTES = 64;

/**
 * The config a saved index was built with, from the header usearch writes
 * after its vector matrix. The matrix starts with its rows and columns as
 * two u32 or two u64; like usearch's own reader, try u32 first.
 */
function savedConfig(path: string): { dimensions: number; metric: Metric; quantization: Quantization } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ArtifactIntegrityError(`ANN index ${path} cannot be opened: ${(err as Error).message}`, err);
  }
  try {
    const size = fstatSync(fd).size;
    const read = (length: number, position: number) => {
      const buffer = Buffer.alloc(length);
      return readSync(fd, buffer, 0, length, position) === length ? buffer : Buffer.alloc(0);
    };
    const matrix = read(16, 0);
    const heads =
      matrix.length === 16
        ? [
            8 + matrix.readUInt32LE(0) * matrix.readUInt32LE(4),
            16 + Number(matrix.readBigUInt64LE(0) * matrix.readBigUInt64LE(8)),
          ]
        : [];
    for (const offset of heads) {
      if (offset + HEAD_BYTES > size) continue;
      const head = read(HEAD_BYTES, offset);
      if (head.toString('latin1', 0, 7) !== 'usearch') continue;
      const metric = METRIC_CODE[String.fromCharCode(head[13]!)];
      const quantization = SCALAR_CODE[head[14]!];
      if (!metric || !quantization)
        throw new InferenceError(
          `${path} is a usearch index of metric ${head[13]} and scalar ${head[14]}; ip/cos/l2sq and f32/f16/i8 are served`,
        );
      // A lifted file holds one coordinate more than the vectors it is given and asked with.
      const stored = Number(head.readBigUInt64LE(33));
      return { dimensions: metric === 'mips' ? stored - 1 : stored, metric, quantization };
    }
    throw new CorruptDataError(
      `${path} is not a usearch index (no header after a vector matrix), or is truncated`,
    );
  } finally {
    closeSync(fd);
  }
}

/** Refuses a query whose length is not the index's dimensions. */
export function checkQuery(query: Float32Array, dimensions: number): void {
  if (query.length !== dimensions)
    throw new InferenceError(
      `ANN search: a query of ${query.length} values for an index of ${dimensions} dimensions`,
    );
}

/**
 * The filter by oversampling that `AnnIndex.search` and `ThreadIndex.search`
 * share: it yields how many keys to ask an index of `size` keys for, takes
 * the index's answer (best first, unfiltered), and returns the first `k`
 * keys that pass `exclude`; when fewer pass it asks again for four times as
 * many, until the whole index was asked.
 */
export function* oversample(
  size: number,
  k: number,
  exclude: ((key: number) => boolean) | undefined,
  margin: number,
): Generator<number, AnnMatches, { readonly keys: ArrayLike<number>; readonly scores: ArrayLike<number> }> {
  const keys: number[] = [];
  const scores: number[] = [];
  if (k <= 0 || size === 0) return { keys, scores };
  let wanted = exclude ? k + Math.max(0, margin) : k;
  for (;;) {
    const asked = Math.min(wanted, size);
    const found = yield asked;
    keys.length = 0;
    scores.length = 0;
    for (let i = 0; i < found.keys.length && keys.length < k; i++) {
      const key = found.keys[i]!;
      if (exclude?.(key)) continue;
      keys.push(key);
      scores.push(found.scores[i]!);
    }
    if (keys.length === k || asked >= size || found.keys.length < asked) return { keys, scores };
    wanted *= 4;
  }
}

function withDefaults(config: AnnIndexConfig): Required<AnnIndexConfig> {
  const metric = config.metric ?? 'ip';
  if (metric === 'mips' && config.maxNorm === undefined)
    throw new InferenceError('ANN index of metric mips: maxNorm, the radius it was built with, is required');
  return {
    dimensions: config.dimensions,
    metric,
    maxNorm: metric === 'mips' ? config.maxNorm! : 0,
    quantization: config.quantization ?? 'f32',
    connectivity: config.connectivity ?? 16,
    expansionAdd: config.expansionAdd ?? 128,
    expansionSearch: config.expansionSearch ?? 256,
  };
}

function toKeys(keys: readonly number[]): BigUint64Array {
  const out = new BigUint64Array(keys.length);
  keys.forEach((key, i) => {
    if (!Number.isSafeInteger(key) || key < 0)
      throw new InferenceError(`ANN key ${key} is not a non-negative integer`);
    out[i] = BigInt(key);
  });
  return out;
}

/**
 * A usearch HNSW index over item embeddings: built in memory, or a saved
 * one read into memory (`load`), changeable either way. usearch can also
 * memory-map a saved index read-only; a responder changes its index (new
 * catalog items, deltas), so it reads the file whole instead.
 *
 * @example
 * ```ts
 * const index = AnnIndex.load(path, { dimensions: 65 });
 * index.upsert([4021], newItemVector);   // new or changed items
 * index.remove([17, 96]);                // items no longer available
 * index.save(nextPath);
 * ```
 */
export class AnnIndex {
  private readonly lift: SphereLift | undefined;
  /** `mips`: keys stored clamped to the sphere, with the factor that corrects their scores (`sphere-lift.ts`). */
  private readonly clamps = new Map<number, number>();

  private constructor(
    private readonly index: Index,
    readonly config: Required<AnnIndexConfig>,
  ) {
    this.lift = config.metric === 'mips' ? new SphereLift(config.dimensions, config.maxNorm) : undefined;
  }

  /** An empty index. */
  static create(config: AnnIndexConfig): AnnIndex {
    if (!Number.isSafeInteger(config.dimensions) || config.dimensions <= 0)
      throw new InferenceError(`ANN index dimensions ${config.dimensions} is not a positive integer`);
    const resolved = withDefaults(config);
    return new AnnIndex(AnnIndex.native(resolved), resolved);
  }

  /** A new index holding `vectors` (row i under `keys[i]`); under `mips`, their largest norm is the radius unless given. */
  static build(config: AnnIndexConfig, keys: readonly number[], vectors: Float32Array): AnnIndex {
    const radius =
      config.metric === 'mips' ? (config.maxNorm ?? maxNorm(vectors, config.dimensions)) : undefined;
    const index = AnnIndex.create(radius === undefined ? config : { ...config, maxNorm: radius });
    index.upsert(keys, vectors);
    return index;
  }

  /**
   * Reads a saved index into memory; it can then be changed. Dimensions,
   * metric and quantization come from the file (`config`, when given, must
   * agree); `config` also sets the search expansion. A `mips` index needs
   * the `maxNorm` it was built with, which its file does not hold (its
   * manifest does: `annConfigOf`).
   */
  static load(path: string, given?: Partial<AnnIndexConfig>): AnnIndex {
    const saved = savedConfig(path);
    for (const field of ['dimensions', 'metric', 'quantization'] as const)
      if (given?.[field] !== undefined && given[field] !== saved[field])
        throw new InferenceError(`ANN index ${path} has ${field} ${saved[field]}, not ${given[field]}`);
    const config = withDefaults({ ...given, ...saved });
    const index = AnnIndex.native(config);
    try {
      index.load(path);
    } catch (err) {
      throw new CorruptDataError(`ANN index ${path} cannot be loaded: ${(err as Error).message}`, err);
    }
    return new AnnIndex(index, config);
  }

  get size(): number {
    return this.index.size();
  }

  /** Adds rows (row i of `vectors` under `keys[i]`), replacing the vector of a key already present. */
  upsert(keys: readonly number[], vectors: Float32Array): void {
    const dims = this.config.dimensions;
    if (vectors.length !== keys.length * dims)
      throw new InferenceError(
        `ANN upsert: ${keys.length} keys but ${vectors.length} values; the index takes ${dims} per vector`,
      );
    if (new Set(keys).size !== keys.length)
      throw new InferenceError('ANN upsert: the same key twice in one call');
    if (keys.length === 0) return;
    const native = toKeys(keys);
    // usearch refuses a key it holds (and would stop halfway through the batch), so changed rows go first.
    const present = this.index.contains(native) as boolean[];
    const replaced = native.filter((_, i) => present[i]);
    if (replaced.length > 0) this.index.remove(replaced);
    if (this.lift === undefined) {
      this.index.add(native, vectors, 0);
      return;
    }
    const { rows, clamped } = this.lift.items(vectors);
    for (const key of keys) this.clamps.delete(key);
    for (const [row, factor] of clamped) this.clamps.set(keys[row]!, factor);
    this.index.add(native, rows, 0);
  }

  /** `mips`: how many keys are held clamped, their norm above `maxNorm` (`sphere-lift.ts`). */
  get clamped(): number {
    return this.clamps.size;
  }

  /** Removes keys; absent keys are skipped. Returns how many were removed. */
  remove(keys: readonly number[]): number {
    if (keys.length === 0) return 0;
    for (const key of keys) this.clamps.delete(key);
    return (this.index.remove(toKeys(keys)) as number[]).reduce((n, removed) => n + removed, 0);
  }

  /**
   * The `k` best keys for `query`, best first, leaving out keys for which
   * `exclude` is true (oversampling: usearch has no filtered search here).
   * The first ask is for `k + margin` keys (`margin` default `k`), and each
   * further one for four times as many, until `k` pass: a caller that
   * knows how many keys it may exclude (a user's seen items) asks for no
   * more than it needs, and an HNSW search costs with the count asked once
   * that passes the search expansion.
   */
  search(query: Float32Array, k: number, exclude?: (key: number) => boolean, margin = k): AnnMatches {
    checkQuery(query, this.config.dimensions);
    const asks = oversample(this.size, k, exclude, margin);
    let step = asks.next();
    while (!step.done) step = asks.next(this.nearest(query, step.value));
    return step.value;
  }

  /** The `count` nearest keys, best first, unfiltered. */
  private nearest(query: Float32Array, count: number): AnnMatches {
    const lift = this.lift;
    // One thread: a single query gains nothing from usearch's pool, and a responder runs many at once.
    const matches = this.index.search(lift ? lift.query(query) : query, count, 1);
    const keys: number[] = new Array(matches.keys.length);
    const scores: number[] = new Array(matches.keys.length);
    const queryNorm = lift ? norm(query) : 0;
    let corrected = false;
    for (let i = 0; i < matches.keys.length; i++) {
      keys[i] = Number(matches.keys[i]!);
      if (lift === undefined) {
        // usearch reports distances: 1 - similarity.
        const similarity = 1 - matches.distances[i]!;
        scores[i] =
          this.config.quantization === 'i8' && this.config.metric === 'ip'
            ? similarity / I8_UNIT
            : similarity;
        continue;
      }
      const clamp = this.clamps.size > 0 ? this.clamps.get(keys[i]!) : undefined;
      scores[i] = lift.score(matches.distances[i]!, queryNorm) * (clamp ?? 1);
      corrected ||= clamp !== undefined;
    }
    if (!corrected) return { keys, scores };
    const order = keys.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
    return { keys: order.map((i) => keys[i]!), scores: order.map((i) => scores[i]!) };
  }

  /** Writes the index to a file (usearch's format; its header records dimensions, metric and quantization). */
  save(path: string): void {
    // The clamp factors live here, not in the file: saved, those rows would score below their inner product.
    if (this.clamps.size > 0)
      throw new InferenceError(
        `ANN index ${path}: ${this.clamps.size} rows are clamped to maxNorm ${this.config.maxNorm}; build a new index from the vectors instead of saving this one`,
      );
    try {
      this.index.save(path);
    } catch (err) {
      throw new StorageError(`saving ANN index ${path}: ${(err as Error).message}`, err);
    }
  }

  private static native(config: Required<AnnIndexConfig>): Index {
    return new Index({
      dimensions: config.metric === 'mips' ? config.dimensions + 1 : config.dimensions,
      metric: METRIC[config.metric],
      quantization: SCALAR[config.quantization],
      connectivity: config.connectivity,
      expansion_add: config.expansionAdd,
      expansion_search: config.expansionSearch,
      multi: false,
    });
  }
}
