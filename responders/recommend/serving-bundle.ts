/**
 * One model version and one index of it, loaded together for serving: the
 * pair a response names (`model_version`, `index_version`). Loading
 * verifies every artifact's sha256 (the model's files, the index manifest,
 * the index files it pins), refuses a pair whose index was built for
 * another model version (`LineageMismatchError`), applies the newest delta
 * of the full index, brings the index up to date with the catalog the
 * responder follows (items added, changed or made unavailable since the
 * index was built are embedded with the model's item tower, indexed or
 * removed), and warms the ONNX sessions up with one request each. Nothing
 * long holds the event loop meanwhile: the sessions are created and run on
 * a thread of their own, the index is memory-mapped until its first change,
 * and items are walked in slices.
 *
 * Requests `acquire` the bundle for their duration; `retire` frees it once
 * the last one `release`s it, so a swap never closes a session under a
 * request that is using it.
 *
 * @example
 * ```ts
 * const bundle = await ServingBundle.load({ store, model, index, delta, catalog: catalog.values() });
 * bundle.acquire();
 * try { bundle.ann.search(userVector, 100); } finally { bundle.release(); }
 * await bundle.retire();
 * ```
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DeltaManifest, IndexManifest } from '../../indexer/indexer.js';
import { AnnIndex } from '../../inference/ann-index.js';
import { loadModels, type Models } from '../../inference/onnx-models.js';
import { itemFeaturesAt } from '../../processors/item-features/item-view.js';
import { featuresAt } from '../../processors/user-features/user-view.js';
import { ArtifactIntegrityError, LineageMismatchError } from '../../runtime/errors.js';
import type { IndexVersion, Item, ModelVersion } from '../../schemas/generated/types.js';
import {
  catalogItemInputs,
  loadModelVocabularies,
  type ModelVocabularies,
  rankerInputs,
  userTowerInputs,
} from '../../trainer/model-bundle.js';
import { type ArtifactStore, sha256File } from '../../trainer/model-store.js';

export interface BundleSource {
  readonly store: ArtifactStore;
  readonly model: ModelVersion;
  /** A full index of `model`. */
  readonly index: IndexVersion;
  /** The newest delta of `index`, when there is one. */
  readonly delta?: IndexVersion;
  /** The catalog as the responder knows it now. */
  readonly catalog: Iterable<Item>;
}

const EMBED_BATCH = 512;
/**
 * Items walked between two turns of the event loop while a bundle loads or
 * syncs the catalog: walking 100,000 items at once held requests up for
 * tens to hundreds of milliseconds.
 */
const SLICE = 2048;
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));
const NO_CONTEXT = { device: null, country: null, session_id: null, surface: null, request_id: null };

/** `<name>@<version>`, as responses and served lists name versions. */
export const versionLabel = (name: string, version: number): string => `${name}@${version}`;

export class ServingBundle {
  private readonly keyOf = new Map<string, number>();
  private readonly itemOf = new Map<number, string>();
  private readonly indexedTs = new Map<string, number>();
  private nextKey = 1;
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
    /** The served index: memory-mapped from `annPath` until the first change, then a changeable copy. */
    private served: AnnIndex,
    private readonly annPath: string,
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
    await store.verify(model.artifacts);
    const manifest = await readVerified<IndexManifest>(store, index);
    if (manifest.model !== model.model || manifest.model_version !== model.version)
      throw new LineageMismatchError(
        `index ${index.index} v${index.version}'s manifest is for ${manifest.model} v${manifest.model_version}, its event says v${index.model_version}`,
      );
    const indexDir = dirname(store.localPath(index.uri));
    for (const [file, sha256] of Object.entries(manifest.files)) {
      const actual = await sha256File(join(indexDir, file)).catch((error) => {
        throw new ArtifactIntegrityError(`index file ${file} is missing at ${indexDir}`, error);
      });
      if (actual !== sha256)
        throw new ArtifactIntegrityError(
          `index file ${file} in ${indexDir} has sha256 ${actual}, expected ${sha256}`,
        );
    }
    const deltaManifest = delta === undefined ? undefined : await readVerified<DeltaManifest>(store, delta);
    const modelDir = dirname(store.localPath(model.artifacts[0]!.uri));
    const vocab = await loadModelVocabularies(join(modelDir, 'dataset.json'));
    const annPath = join(indexDir, 'index.usearch');
    // Mapped, not read into memory: a copy to change is made only when a change arrives (`writable`).
    const ann = AnnIndex.view(annPath);
    const models = await loadModels(modelDir, { threads: 1, ownThread: true });
    const auc = model.metrics.ranker_auc;
    const baseline = model.metrics.ctr_baseline_auc;
    const bundle = new ServingBundle(
      model,
      index,
      vocab,
      models,
      ann,
      annPath,
      auc !== undefined && baseline !== undefined && auc > baseline,
    );
    try {
      for (let i = 0; i < manifest.items.length; i++) {
        const [itemId, key, ts] = manifest.items[i]!;
        bundle.track(itemId, key, ts);
        if (i % SLICE === SLICE - 1) await breathe();
      }
      if (delta !== undefined && deltaManifest !== undefined) bundle.applyDelta(delta, deltaManifest);
      await bundle.syncCatalog([...source.catalog], []);
      await bundle.warmUp();
    } catch (error) {
      await models.close();
      throw error;
    }
    return bundle;
  }

  get ann(): AnnIndex {
    return this.served;
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
    return this.itemOf.get(key);
  }

  keyFor(itemId: string): number | undefined {
    return this.keyOf.get(itemId);
  }

  /**
   * Applies a delta of this bundle's full index in place (cumulative: it
   * replaces any delta applied before). Refuses one of another base.
   */
  applyDelta(delta: IndexVersion, manifest: DeltaManifest): void {
    if (delta.base_version !== this.index.version || manifest.model_version !== this.model.version)
      throw new LineageMismatchError(
        `delta ${delta.index} v${delta.version} is of base v${delta.base_version}, this bundle serves v${this.index.version}`,
      );
    if ((this.deltaVersion ?? 0) >= delta.version) return;
    const dims = this.ann.config.dimensions;
    const fresh = manifest.upserts.filter(
      (u) => (this.indexedTs.get(u.item_id) ?? Number.NEGATIVE_INFINITY) <= u.updated_ts,
    );
    const vectors = new Float32Array(fresh.length * dims);
    fresh.forEach((u, i) => {
      vectors.set(u.vector, i * dims);
    });
    this.upsert(
      fresh.map((u) => [u.item_id, u.key, u.updated_ts]),
      vectors,
    );
    this.removeItems(manifest.removed.map((r) => r.item_id));
    this.deltaVersion = delta.version;
  }

  /**
   * Brings the index up to date with catalog changes: available items that
   * are new or newer than their indexed version are embedded with the item
   * tower and upserted; unavailable and removed ones leave the index.
   * Returns how many items were embedded.
   */
  async syncCatalog(changed: readonly Item[], removed: readonly string[]): Promise<number> {
    const gone = [...removed];
    for (let i = 0; i < changed.length; i++) {
      if (!changed[i]!.available) gone.push(changed[i]!.item_id);
      if (i % SLICE === SLICE - 1) await breathe();
    }
    this.removeItems(gone);
    const stale: Item[] = [];
    for (let i = 0; i < changed.length; i++) {
      const item = changed[i]!;
      if (item.available && (this.indexedTs.get(item.item_id) ?? Number.NEGATIVE_INFINITY) < item.updated_ts)
        stale.push(item);
      if (i % SLICE === SLICE - 1) await breathe();
    }
    let embedded = 0;
    for (let from = 0; from < stale.length && !this.closed; from += EMBED_BATCH) {
      const batch = stale.slice(from, from + EMBED_BATCH);
      const vectors = await this.models.itemTower.embed(catalogItemInputs(batch, this.vocab));
      if (this.closed) break;
      // A newer version may have been indexed while this batch was embedded.
      const rows = batch.flatMap((item, row) =>
        (this.indexedTs.get(item.item_id) ?? Number.NEGATIVE_INFINITY) < item.updated_ts
          ? [{ item, row }]
          : [],
      );
      const dims = this.ann.config.dimensions;
      const picked = new Float32Array(rows.length * dims);
      rows.forEach(({ row }, i) => {
        picked.set(vectors.subarray(row * dims, (row + 1) * dims), i * dims);
      });
      this.upsert(
        rows.map(({ item }) => [item.item_id, this.keyOf.get(item.item_id) ?? this.nextKey, item.updated_ts]),
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
    await this.models.close();
  }

  private track(itemId: string, key: number, ts: number): void {
    this.keyOf.set(itemId, key);
    this.itemOf.set(key, itemId);
    this.indexedTs.set(itemId, ts);
    if (key >= this.nextKey) this.nextKey = key + 1;
  }

  private upsert(
    rows: readonly (readonly [itemId: string, key: number, ts: number])[],
    vectors: Float32Array,
  ): void {
    const assigned = rows.map(([itemId, key, ts]) => {
      // A key is taken when it is handed out, so two items added in one call get two keys.
      const final = this.keyOf.get(itemId) ?? Math.max(key, this.nextKey);
      this.track(itemId, final, ts);
      return final;
    });
    if (assigned.length > 0) this.writable().upsert(assigned, vectors);
  }

  private removeItems(itemIds: readonly string[]): void {
    const keys: number[] = [];
    for (const itemId of itemIds) {
      const key = this.keyOf.get(itemId);
      if (key === undefined) continue;
      keys.push(key);
      this.keyOf.delete(itemId);
      this.itemOf.delete(key);
      this.indexedTs.delete(itemId);
    }
    if (keys.length > 0) this.writable().remove(keys);
  }

  /**
   * The index to change: the mapped file is read into memory (a copy usearch
   * lets change) the first time something changes. That read takes
   * ~100 ms on 100,000 items, so a swap no longer pays it; the first catalog
   * change or delta after a swap does.
   */
  private writable(): AnnIndex {
    if (this.served.readOnly) this.served = AnnIndex.load(this.annPath);
    return this.served;
  }

  /** One request through each session, so the first real request does not pay for their set-up. */
  private async warmUp(): Promise<void> {
    const ts = Date.now();
    const query = { userId: '', features: featuresAt(undefined, ts, undefined), context: NO_CONTEXT, ts };
    const embedding = await this.models.userTower.embed(userTowerInputs([query], this.vocab));
    const found = this.ann.search(embedding.subarray(0, this.ann.config.dimensions), 10);
    const candidates = found.keys.map((key) => ({
      itemId: this.itemOf.get(key)!,
      features: itemFeaturesAt(undefined, ts, undefined),
    }));
    if (candidates.length > 0) await this.models.ranker.score(rankerInputs(query, candidates, this.vocab));
  }
}

/** An index version's manifest file, parsed once its sha256 matches the event's; refused when the bytes differ. */
export async function readVerified<T>(store: ArtifactStore, version: IndexVersion): Promise<T> {
  const path = store.localPath(version.uri);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ArtifactIntegrityError(
      `index ${version.index} v${version.version} manifest is missing at ${path}`,
      error,
    );
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== version.sha256)
    throw new ArtifactIntegrityError(
      `index ${version.index} v${version.version} manifest ${path} has sha256 ${actual}, expected ${version.sha256}`,
    );
  return JSON.parse(bytes.toString('utf8')) as T;
}
