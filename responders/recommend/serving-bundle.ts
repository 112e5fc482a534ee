/**
 * One model version and one index of it, loaded together for serving: the
 * pair a response names (`model_version`, `index_version`). Loading
 * verifies every artifact's sha256 (the model's files, the index manifest,
 * the index files it pins); the files it loads (the three ONNX models,
 * `dataset.json`, the manifests, the searched index file) are hashed as
 * they are read for loading, so what serves is what was checked. Every
 * URI goes through the store's `localPath`, which refuses one outside the
 * artifacts root, and the manifest's file names must be plain names in
 * its directory. It refuses a pair whose index was built for
 * another model version (`LineageMismatchError`), applies the newest delta
 * of the full index, brings the index up to date with the catalog the
 * responder follows (items added, changed or made unavailable since the
 * index was built are embedded with the model's item tower, indexed or
 * removed), and warms the ONNX sessions up with one request each. Nothing
 * long holds the event loop meanwhile: the sessions are created and run on
 * a thread of their own, which also reads the index into memory and runs
 * its searches and changes, and items are walked in slices.
 *
 * Requests `acquire` the bundle for their duration; `retire` frees it once
 * the last one `release`s it, so a swap never closes a session under a
 * request that is using it.
 *
 * @example
 * ```ts
 * const bundle = await ServingBundle.load({ store, model, index, delta, catalog: catalog.values() });
 * bundle.acquire();
 * try { await bundle.ann.search(userVector, 100); } finally { bundle.release(); }
 * await bundle.retire();
 * ```
 */
import { dirname, join } from 'node:path';
import type { DeltaManifest, IndexManifest } from '../../indexer/indexer.js';
import { dropArray } from '../../inference/json-lift.js';
import type { KeyedItems } from '../../inference/keyed-items.js';
import { loadModels, type Models } from '../../inference/onnx-models.js';
import { SessionThread } from '../../inference/session-thread.js';
import type { ReadIndexManifest, ReadJson } from '../../inference/session-worker.js';
import type { ThreadIndex } from '../../inference/thread-index.js';
import { itemFeaturesAt } from '../../processors/item-features/item-view.js';
import { featuresAt } from '../../processors/user-features/user-view.js';
import { type ArtifactStore, artifactFile, readArtifact } from '../../registry/model-store.js';
import type { Config } from '../../runtime/config.js';
import { ArtifactIntegrityError, LineageMismatchError } from '../../runtime/errors.js';
import type { IndexVersion, Item, ModelVersion } from '../../schemas/generated/types.js';
import type { DatasetManifest } from '../../trainer/dataset-writer.js';
import { VOCABULARY_KINDS } from '../../trainer/encoding.js';
import {
  catalogItemInputs,
  type ModelVocabularies,
  modelVocabularies,
  rankerInputs,
  userTowerInputs,
} from '../../trainer/model-bundle.js';
import { ItemKeys } from './item-keys.js';
import { Pacer } from './pacer.js';

export interface BundleSource {
  readonly store: ArtifactStore;
  readonly model: ModelVersion;
  /** A full index of `model`. */
  readonly index: IndexVersion;
  /** The newest delta of `index`, when there is one. */
  readonly delta?: IndexVersion;
  /** The catalog as the responder knows it now. */
  readonly catalog: Iterable<Item>;
  /** HNSW search expansion; default `AnnIndex`'s. */
  readonly searchExpansion?: number;
  /** Which copy of the index is searched (`servedIndexFile`); default f16. */
  readonly annCopy?: Config['serveAnnCopy'];
  /**
   * Share of the request thread's time the load's indexing of its
   * vocabularies and walk over the catalog may take (`Pacer`); default 1,
   * for a responder with no pair to serve yet.
   */
  readonly share?: number;
}

const EMBED_BATCH = 512;
/**
 * Items walked between two turns of the event loop while a bundle loads or
 * syncs the catalog: walking 100,000 items at once held requests up for
 * tens to hundreds of milliseconds; 512 take about half a millisecond.
 */
const SLICE = 512;
/** Longest pause of a paced load between two slices. */
const MAX_PAUSE_MS = 20;
const NO_CONTEXT = { device: null, country: null, session_id: null, surface: null, request_id: null };
/** The model's files a bundle loads, each hashed from the bytes it is loaded from. */
const LOADED_FILES = ['user_tower.onnx', 'item_tower.onnx', 'ranker.onnx', 'dataset.json'] as const;

/** `<name>@<version>`, as responses and served lists name versions. */
export const versionLabel = (name: string, version: number): string => `${name}@${version}`;

export class ServingBundle {
  private refs = 0;
  private retiring: (() => void) | undefined;
  private closed = false;
  /** Delta version applied on top of the full index, if any. */
  private deltaVersion: number | undefined;

  private constructor(
    readonly model: ModelVersion,
    readonly index: IndexVersion,
    readonly vocab: ModelVocabularies,
    readonly models: Models,
    /** The served index, on the sessions' thread. */
    readonly ann: ThreadIndex,
    /** The index's keys and the items behind them. */
    private readonly keys: ItemKeys,
    /** Whether the ranker may reorder retrieval: its holdout AUC beat the CTR baseline's. */
    readonly rankerTrusted: boolean,
  ) {}

  static async load(source: BundleSource): Promise<ServingBundle> {
    const { store, model, index, delta } = source;
    if (index.kind !== 'full')
      throw new LineageMismatchError(
        `index ${index.index} v${index.version} is a ${index.kind}, not a full index`,
      );
    if (index.model !== model.model || index.model_version !== model.version)
      throw new LineageMismatchError(
        `index ${index.index} v${index.version} was built for ${index.model} v${index.model_version}, not ${model.model} v${model.version}`,
      );
    if (
      delta !== undefined &&
      (delta.base_version !== index.version || delta.model_version !== model.version)
    )
      throw new LineageMismatchError(
        `delta ${delta.index} v${delta.version} is of base v${delta.base_version} for ${delta.model} v${delta.model_version}, not of v${index.version} for v${model.version}`,
      );
    if (model.artifacts.length === 0)
      throw new ArtifactIntegrityError(`${model.model} v${model.version} has no artifacts`);
    const indexDir = dirname(store.localPath(index.uri));
    const modelDir = dirname(store.localPath(model.artifacts[0]!.uri));
    const pinned = Object.fromEntries(model.artifacts.map((artifact) => [artifact.name, artifact.sha256]));
    const unpinned = LOADED_FILES.filter((file) => pinned[file] === undefined);
    if (unpinned.length > 0)
      throw new ArtifactIntegrityError(
        `${model.model} v${model.version} lists no artifact ${unpinned.join(', ')}: nothing to check it against`,
      );
    // Loaded in the background: the served pair's requests keep the CPU they need meanwhile.
    const thread = new SessionThread({ background: true });
    let models: Models | undefined;
    let ann: ThreadIndex | undefined;
    try {
      await verifyOnThread(
        thread,
        model.artifacts
          .filter((artifact) => !(LOADED_FILES as readonly string[]).includes(artifact.name))
          .map((artifact) => ({
            path: store.localPath(artifact.uri),
            sha256: artifact.sha256,
            missing: (path) => `artifact ${artifact.name} is missing at ${path}`,
            differs: (path, actual) =>
              `artifact ${artifact.name} at ${path} has sha256 ${actual}, expected ${artifact.sha256}`,
          })),
      );
      const datasetPath = join(modelDir, 'dataset.json');
      const { manifest, items, dataset } = await readIndexManifest(thread, store, index, datasetPath);
      if (dataset.sha256 !== pinned['dataset.json'])
        throw new ArtifactIntegrityError(
          `artifact dataset.json at ${datasetPath} has sha256 ${dataset.sha256}, expected ${pinned['dataset.json']}`,
        );
      if (manifest.model !== model.model || manifest.model_version !== model.version)
        throw new LineageMismatchError(
          `index ${index.index} v${index.version}'s manifest is for ${manifest.model} v${manifest.model_version}, its event says v${index.model_version}`,
        );
      const file = servedIndexFile(manifest, source.annCopy ?? 'f16');
      const servedSha256 = manifest.files[file];
      if (servedSha256 === undefined)
        throw new ArtifactIntegrityError(
          `index ${index.index} v${index.version}'s manifest names ${file} without its sha256`,
        );
      await verifyOnThread(
        thread,
        Object.entries(manifest.files)
          .filter(([name]) => name !== file)
          .map(([file, sha256]) => ({
            path: artifactFile(indexDir, file),
            sha256,
            missing: () => `index file ${file} is missing at ${indexDir}`,
            differs: (_, actual) =>
              `index file ${file} in ${indexDir} has sha256 ${actual}, expected ${sha256}`,
          })),
      );
      const deltaManifest = delta === undefined ? undefined : await readVerified<DeltaManifest>(store, delta);
      const pacer = new Pacer({ share: source.share ?? 1, maxPauseMs: MAX_PAUSE_MS });
      const vocab = await vocabulariesOf(dataset, datasetPath, pacer);
      const keys = new ItemKeys(vocab.vocabularies.item, items);
      models = await loadModels(modelDir, { threads: 1, thread, sha256: pinned });
      ann = await thread.openIndex(
        artifactFile(indexDir, file),
        { expansionSearch: source.searchExpansion },
        servedSha256,
      );
      const auc = model.metrics.ranker_auc;
      const baseline = model.metrics.ctr_baseline_auc;
      const bundle = new ServingBundle(
        model,
        index,
        vocab,
        models,
        ann,
        keys,
        auc !== undefined && baseline !== undefined && auc > baseline,
      );
      if (delta !== undefined && deltaManifest !== undefined) await bundle.applyDelta(delta, deltaManifest);
      await bundle.syncCatalog([...source.catalog], [], pacer);
      await bundle.warmUp();
      await thread.foreground();
      return bundle;
    } catch (error) {
      await Promise.all([models?.close(), ann?.close()]);
      await thread.endIfIdle();
      throw error;
    }
  }

  get modelLabel(): string {
    return versionLabel(this.model.model, this.model.version);
  }

  /** The index version as served: the full version, or the delta applied on it. */
  get indexLabel(): string {
    return versionLabel(this.index.index, this.deltaVersion ?? this.index.version);
  }

  /** The item behind an ANN key. */
  itemAt(key: number): string | undefined {
    return this.keys.itemAt(key);
  }

  keyFor(itemId: string): number | undefined {
    return this.keys.keyOf(itemId);
  }

  /**
   * Applies a delta of this bundle's full index in place (cumulative: it
   * replaces any delta applied before). Refuses one of another base.
   */
  async applyDelta(delta: IndexVersion, manifest: DeltaManifest): Promise<void> {
    if (delta.base_version !== this.index.version || manifest.model_version !== this.model.version)
      throw new LineageMismatchError(
        `delta ${delta.index} v${delta.version} is of base v${delta.base_version}, this bundle serves v${this.index.version}`,
      );
    if ((this.deltaVersion ?? 0) >= delta.version) return;
    const dims = this.ann.config.dimensions;
    const fresh = manifest.upserts.filter((u) => this.keys.indexedTs(u.item_id) <= u.updated_ts);
    const vectors = new Float32Array(fresh.length * dims);
    fresh.forEach((u, i) => {
      vectors.set(u.vector, i * dims);
    });
    // Both changes are asked of the thread before the label moves, with no wait between: a search
    // asked after the label moved sees them, one asked before does not.
    const upserted = this.upsert(
      fresh.map((u) => [u.item_id, u.key, u.updated_ts]),
      vectors,
    );
    const removed = this.removeItems(manifest.removed.map((r) => r.item_id));
    this.deltaVersion = delta.version;
    await Promise.all([upserted, removed]);
  }

  /**
   * Brings the index up to date with catalog changes: available items that
   * are new or newer than their indexed version are embedded with the item
   * tower and upserted; unavailable and removed ones leave the index.
   * Returns how many items were embedded. `pacer` paces the walks over
   * `changed`; by default each slice only yields to the event loop.
   */
  async syncCatalog(
    changed: readonly Item[],
    removed: readonly string[],
    pacer = new Pacer({ share: 1, maxPauseMs: 0 }),
  ): Promise<number> {
    const gone = [...removed];
    const leaving = new Set(removed);
    const stale: Item[] = [];
    for (let i = 0; i < changed.length; i++) {
      const item = changed[i]!;
      if (!item.available) gone.push(item.item_id);
      // An item removed in the same change is indexed anew, whatever version it was indexed at.
      else if (leaving.has(item.item_id) || this.keys.indexedTs(item.item_id) < item.updated_ts)
        stale.push(item);
      if (i % SLICE === SLICE - 1) await pacer.pause();
    }
    await this.removeItems(gone);
    let embedded = 0;
    for (let from = 0; from < stale.length && !this.closed; from += EMBED_BATCH) {
      const batch = stale.slice(from, from + EMBED_BATCH);
      const vectors = await this.models.itemTower.embed(catalogItemInputs(batch, this.vocab));
      if (this.closed) break;
      // A newer version may have been indexed while this batch was embedded.
      const rows = batch.flatMap((item, row) =>
        this.keys.indexedTs(item.item_id) < item.updated_ts ? [{ item, row }] : [],
      );
      const dims = this.ann.config.dimensions;
      const picked = new Float32Array(rows.length * dims);
      rows.forEach(({ row }, i) => {
        picked.set(vectors.subarray(row * dims, (row + 1) * dims), i * dims);
      });
      await this.upsert(
        rows.map(({ item }) => [
          item.item_id,
          this.keys.keyOf(item.item_id) ?? this.keys.nextKey,
          item.updated_ts,
        ]),
        picked,
      );
      embedded += rows.length;
    }
    return embedded;
  }

  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0) this.retiring?.();
  }

  /** Frees the sessions once no request holds the bundle; resolves when freed. */
  async retire(): Promise<void> {
    if (this.refs > 0) await new Promise<void>((resolve) => (this.retiring = resolve));
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.models.close(), this.ann.close()]);
  }

  private async upsert(
    rows: readonly (readonly [itemId: string, key: number, ts: number])[],
    vectors: Float32Array,
  ): Promise<void> {
    const assigned = rows.map(([itemId, key, ts]) => {
      // A key is taken when it is handed out, so two items added in one call get two keys.
      const final = this.keys.keyOf(itemId) ?? Math.max(key, this.keys.nextKey);
      this.keys.track(itemId, final, ts);
      return final;
    });
    // Tracked before the thread indexes them: a search meanwhile may miss them, never misname them.
    await this.ann.upsert(assigned, vectors);
  }

  private async removeItems(itemIds: readonly string[]): Promise<void> {
    const keys: number[] = [];
    for (const itemId of itemIds) {
      const key = this.keys.forget(itemId);
      if (key !== undefined) keys.push(key);
    }
    // Forgotten here first: a search answered before the thread removes them leaves them out by name.
    await this.ann.remove(keys);
  }

  /** One request through each session, so the first real request does not pay for their set-up. */
  private async warmUp(): Promise<void> {
    const ts = Date.now();
    const query = { userId: '', features: featuresAt(undefined, ts, undefined), context: NO_CONTEXT, ts };
    const embedding = await this.models.userTower.embed(userTowerInputs([query], this.vocab));
    const found = await this.ann.search(embedding.subarray(0, this.ann.config.dimensions), 10);
    const candidates = found.keys.map((key) => ({
      itemId: this.keys.itemAt(key)!,
      features: itemFeaturesAt(undefined, ts, undefined),
    }));
    if (candidates.length > 0) await this.models.ranker.score(rankerInputs(query, candidates, this.vocab));
  }
}

/**
 * The file of a full index version that is searched: its f16 copy when
 * `copy` is f16 and the indexer wrote one, else the f32 `index.usearch`.
 * An i8 copy is never searched: usearch normalises vectors to convert them
 * to i8, so that copy ranks by cosine, not by the model's inner product.
 *
 * @example
 * ```ts
 * servedIndexFile({ quantized: { file: 'index-f16.usearch', quantization: 'f16', recall_at_10: 0.98 } }, 'f16');
 * // 'index-f16.usearch'
 * ```
 */
export function servedIndexFile(
  manifest: Pick<IndexManifest, 'quantized'>,
  copy: Config['serveAnnCopy'],
): string {
  const quantized = manifest.quantized;
  return copy === 'f16' && quantized?.quantization === 'f16' ? quantized.file : 'index.usearch';
}

/**
 * An index version's manifest, read and parsed on the bundle's thread (2.9 MB
 * on 100,000 items held requests ~25–40 ms when parsed here), its items laid
 * over the item vocabulary of the model's `dataset.json` at `datasetPath`
 * (`keyed-items.ts`), and that `dataset.json` with its vocabularies as
 * columns. Refused when missing, unreadable, not an index manifest, or its
 * sha256 is not the event's.
 */
async function readIndexManifest(
  thread: SessionThread,
  store: ArtifactStore,
  version: IndexVersion,
  datasetPath: string,
): Promise<{ manifest: Omit<IndexManifest, 'items'>; items: KeyedItems; dataset: ReadJson }> {
  const path = store.localPath(version.uri);
  let read: ReadIndexManifest;
  try {
    read = await thread.readIndexManifest(
      path,
      datasetPath,
      VOCABULARY_KINDS.map((kind) => `vocabularies.${kind}`),
    );
  } catch (error) {
    throw new ArtifactIntegrityError(
      `index ${version.index} v${version.version} manifest is missing or unreadable at ${path}: ${(error as Error).message}`,
      error,
    );
  }
  if (read.sha256 !== version.sha256)
    throw new ArtifactIntegrityError(
      `index ${version.index} v${version.version} manifest ${path} has sha256 ${read.sha256}, expected ${version.sha256}`,
    );
  return { manifest: read.value as Omit<IndexManifest, 'items'>, items: read.items, dataset: read.dataset };
}

interface ExpectedFile {
  readonly path: string;
  readonly sha256: string;
  readonly missing: (path: string) => string;
  readonly differs: (path: string, actual: string) => string;
}

/** Hashes the files on the bundle's thread; refuses the first that cannot be read or differs. */
async function verifyOnThread(thread: SessionThread, files: readonly ExpectedFile[]): Promise<void> {
  const hashes = await thread.sha256(files.map((file) => file.path));
  files.forEach((file, i) => {
    const hash = hashes[i]!;
    if ('error' in hash) throw new ArtifactIntegrityError(file.missing(file.path), new Error(hash.error));
    if (hash.sha256 !== file.sha256) throw new ArtifactIntegrityError(file.differs(file.path, hash.sha256));
  });
}

/**
 * The model's vocabularies from its `dataset.json` at `path`, as the
 * bundle's thread read it (its vocabularies as columns), indexed here in
 * slices `pacer` paces.
 */
async function vocabulariesOf(read: ReadJson, path: string, pacer: Pacer): Promise<ModelVocabularies> {
  const manifest = read.value as { vocabularies?: Record<string, readonly unknown[]> };
  if (manifest.vocabularies !== undefined && typeof manifest.vocabularies === 'object')
    for (const [dotted, lifted] of Object.entries(read.lifted))
      manifest.vocabularies[dotted.slice('vocabularies.'.length)] = dropArray(lifted);
  return modelVocabularies(read.value as DatasetManifest, path, () => pacer.pause());
}

/** An index version's manifest file, parsed once its sha256 matches the event's; refused when the bytes differ. */
export async function readVerified<T>(store: ArtifactStore, version: IndexVersion): Promise<T> {
  const what = `index ${version.index} v${version.version} manifest`;
  return JSON.parse((await readArtifact(store, version.uri, version.sha256, what)).toString('utf8')) as T;
}
