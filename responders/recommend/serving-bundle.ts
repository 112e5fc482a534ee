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
 * removed: `catalog-sync.ts`), and warms the ONNX sessions up with one
 * request each (`warm-up.ts`). The checks are `bundle-verification.ts`'s. Nothing
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
import { join } from 'node:path';
import type { DatasetManifest } from '../../features/dataset-manifest.js';
import { MODEL_ARTIFACTS } from '../../features/feature-service.js';
import { catalogItemInputs, type ModelVocabularies, modelVocabularies } from '../../features/model-inputs.js';
import { annConfigOf, type DeltaManifest } from '../../indexer/index-files.js';
import { dropArray } from '../../inference/json-lift.js';
import { loadModels, type Models } from '../../inference/onnx-models.js';
import { SessionThread } from '../../inference/session-thread.js';
import type { ReadJson } from '../../inference/session-worker.js';
import type { ThreadIndex } from '../../inference/thread-index.js';
import { ArtifactIntegrityError } from '../../registry/errors.js';
import { type ArtifactStore, artifactFile } from '../../registry/model-store.js';
import { rankerUse } from '../../registry/ranker-use.js';
import type { Config } from '../../runtime/config.js';
import type { Logger } from '../../runtime/observability/logger.js';
import type { IndexVersion, Item, ModelVersion } from '../../schemas/generated/types.js';
import { LineageMismatchError } from '../errors.js';
import { BundleRefs } from './bundle-refs.js';
import {
  checkLineage,
  locateArtifacts,
  readIndexManifest,
  readVerified,
  servedIndexFile,
  unloadedArtifacts,
  unservedIndexFiles,
  verifyOnThread,
} from './bundle-verification.js';
import { CatalogSync } from './catalog-sync.js';
import { ItemKeys } from './item-keys.js';
import { Pacer } from './pacer.js';
import { warmUp } from './warm-up.js';

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
  /**
   * The session thread the pair loads onto, beside the pairs already on
   * it; the caller brings it to the foreground once everything it loads
   * there is loaded (`one-session-thread.ts`). Default: a background thread
   * of the pair's own, brought forward once the pair is loaded.
   */
  readonly thread?: SessionThread;
}

/** Longest pause of a paced load between two slices. */
const MAX_PAUSE_MS = 20;

/** `<name>@<version>`, as responses and served lists name versions. */
export const versionLabel = (name: string, version: number): string => `${name}@${version}`;

export class ServingBundle {
  private readonly refs = new BundleRefs();
  private closed = false;
  /** The delta applied on top of the full index, if any. */
  private appliedDelta: IndexVersion | undefined;
  private readonly catalog: CatalogSync;

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
    /** The thread its sessions and index live on, shared with the other pairs loaded onto it. */
    readonly thread: SessionThread,
  ) {
    this.catalog = new CatalogSync({
      ann,
      keys,
      embed: (items) => models.itemTower.embed(catalogItemInputs(items, vocab)),
      closed: () => this.closed,
    });
  }

  static async load(source: BundleSource): Promise<ServingBundle> {
    const { store, model, index, delta } = source;
    checkLineage(model, index, delta);
    const { indexDir, modelDir, pinned } = locateArtifacts(store, model, index);
    // Loaded in the background: the served pair's requests keep the CPU they need meanwhile.
    const thread = source.thread ?? new SessionThread({ background: true });
    let models: Models | undefined;
    let ann: ThreadIndex | undefined;
    try {
      await verifyOnThread(thread, unloadedArtifacts(store, model));
      const datasetPath = join(modelDir, MODEL_ARTIFACTS.dataset);
      const { manifest, items, dataset } = await readIndexManifest(thread, store, index, datasetPath);
      if (dataset.sha256 !== pinned[MODEL_ARTIFACTS.dataset])
        throw new ArtifactIntegrityError(
          `artifact dataset.json at ${datasetPath} has sha256 ${dataset.sha256}, expected ${pinned[MODEL_ARTIFACTS.dataset]}`,
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
      await verifyOnThread(thread, unservedIndexFiles(indexDir, manifest, file));
      const deltaManifest = delta === undefined ? undefined : await readVerified<DeltaManifest>(store, delta);
      const pacer = new Pacer({ share: source.share ?? 1, maxPauseMs: MAX_PAUSE_MS });
      const vocab = await vocabulariesOf(dataset, datasetPath, pacer);
      const keys = new ItemKeys(vocab.vocabularies.item, items);
      models = await loadModels(modelDir, { threads: 1, thread, sha256: pinned });
      ann = await thread.openIndex(
        artifactFile(indexDir, file),
        { ...annConfigOf(manifest), expansionSearch: source.searchExpansion },
        servedSha256,
      );
      const bundle = new ServingBundle(
        model,
        index,
        vocab,
        models,
        ann,
        keys,
        rankerUse(model.metrics).serves,
        thread,
      );
      if (delta !== undefined && deltaManifest !== undefined) await bundle.applyDelta(delta, deltaManifest);
      await bundle.syncCatalog([...source.catalog], [], pacer);
      await warmUp({ models, ann, vocab, itemAt: (key) => keys.itemAt(key) });
      if (source.thread === undefined) await thread.foreground();
      return bundle;
    } catch (error) {
      await Promise.all([models?.close(), ann?.close()]);
      if (source.thread === undefined) await thread.endIfIdle();
      throw error;
    }
  }

  get modelLabel(): string {
    return versionLabel(this.model.model, this.model.version);
  }

  /** The index version as served: the full version, or the delta applied on it. */
  get indexLabel(): string {
    return versionLabel(this.index.index, this.appliedDelta?.version ?? this.index.version);
  }

  /** The delta of `index` applied in place, if any: with `model` and `index`, what loads this pair again. */
  get delta(): IndexVersion | undefined {
    return this.appliedDelta;
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
    if ((this.appliedDelta?.version ?? 0) >= delta.version) return;
    // Both changes are asked of the thread before the label moves, with no wait between: a search
    // asked after the label moved sees them, one asked before does not.
    const applied = this.catalog.applyDelta(manifest);
    this.appliedDelta = delta;
    await applied;
  }

  /**
   * Brings the index up to date with catalog changes: available items that
   * are new or newer than their indexed version are embedded with the item
   * tower and upserted; unavailable and removed ones leave the index.
   * Returns how many items were embedded. `pacer` paces the walks over
   * `changed`; by default each slice only yields to the event loop.
   */
  syncCatalog(changed: readonly Item[], removed: readonly string[], pacer?: Pacer): Promise<number> {
    return this.catalog.syncCatalog(changed, removed, pacer);
  }

  /** A request holds the bundle until it `release`s it. */
  acquire(): void {
    this.refs.acquire();
  }

  /** A request lets go of the bundle. */
  release(): void {
    this.refs.release();
  }

  /** Frees the sessions once no request holds the bundle; resolves when freed. */
  async retire(): Promise<void> {
    await this.refs.idle();
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.models.close(), this.ann.close()]);
  }

  /**
   * `retire` without waiting for it, a failure logged: a swap is not held
   * up by a slow request still using the pair it swapped out.
   */
  retireInBackground(logger: Logger): void {
    this.retire().catch((error) =>
      logger.error({ err: error, pair: `${this.modelLabel}/${this.indexLabel}` }, 'freeing a pair failed'),
    );
  }
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
