/**
 * The indexer: for the promoted model, an ANN index of its
 * item embeddings, published as `IndexVersion` events on
 * `rec.index-versions`.
 *
 * - **Full** (once per promoted model version, and once per model version
 *   a running experiment serves, such as a canary's candidate): every available catalog
 *   item. Items the model was trained with use its exported
 *   `item_embeddings.npy` row (key = the item's vocabulary index); catalog
 *   items it never saw are embedded here with its exported item tower
 *   (keys after the vocabulary). Written as `index.usearch` (f32), a
 *   quantised `index-<q>.usearch` (f16 by default, `RECSTREAM_INDEX_QUANTIZATION`;
 *   the copy responders search) with its recall@10 against exact search
 *   measured, both over the vectors lifted onto a sphere (`index-files.ts`),
 *   and `index.json` (the items with their keys and catalog versions, the
 *   sphere's radius, every file's sha256); the event's URI and sha256 are
 *   `index.json`'s, which in turn pins the index files.
 * - **Delta** (whenever the catalog moved since): every item added,
 *   changed (a newer `updated_ts`) or made unavailable since the full
 *   version, cumulative, as `delta.json` with the new vectors; responders
 *   apply the newest delta of their full index without reloading it.
 *
 * The model's artifacts are verified (sha256) before anything is built; a
 * model whose files do not verify, or whose URIs lead outside the artifacts
 * root, gets no index: the round is `refused` (logged, counted in
 * `recstream_indexer_refused_total`) and the next one looks again.
 *
 * @example
 * ```ts
 * const indexer = new Indexer({ platform, store, quantization: 'i8' });
 * const outcome = await indexer.indexOnce();   // full, delta or up to date
 * ```
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetManifest } from '../features/dataset-manifest.js';
import { MODEL_ARTIFACTS } from '../features/feature-service.js';
import { catalogItemInputs, type ModelVocabularies, modelVocabularies } from '../features/model-inputs.js';
import type { Quantization } from '../inference/ann-index.js';
import { readNpy } from '../inference/npy.js';
import { ItemTower, OnnxModel } from '../inference/onnx-models.js';
import { readCatalog } from '../registry/catalog.js';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { IndexRegistry, publishIndexVersion } from '../registry/index-registry.js';
import { ModelRegistry } from '../registry/model-registry.js';
import { type ArtifactStore, readArtifact, readModelArtifact } from '../registry/model-store.js';
import type { Config } from '../runtime/config.js';
import type { Platform } from '../runtime/platform.js';
import { createProducer } from '../runtime/producer/producer.js';
import type { IndexVersion, Item, ModelVersion } from '../schemas/generated/types.js';
import {
  DELTA_FORMAT,
  type DeltaManifest,
  INDEX_FORMAT,
  type IndexedItem,
  type IndexManifest,
  writeIndexFiles,
} from './index-files.js';
import { indexerMetrics } from './indexer-metrics.js';
import { unindexedVariant } from './variant-versions.js';

export {
  DELTA_FORMAT,
  type DeltaManifest,
  INDEX_FORMAT,
  type IndexedItem,
  type IndexManifest,
} from './index-files.js';

export interface IndexerOptions {
  readonly platform: Platform;
  readonly store: ArtifactStore;
  /** Index name (the key of its rec.index-versions events); default RECSTREAM_INDEX_NAME. */
  readonly index?: string;
  /**
   * The quantised copy built beside the f32 index, its recall@10 against
   * exact search measured; `none` builds none. Default `RECSTREAM_INDEX_QUANTIZATION`.
   */
  readonly quantization?: Config['indexQuantization'];
}

export type IndexOutcome =
  | { readonly kind: 'full' | 'delta'; readonly version: IndexVersion; readonly recallAt10?: number }
  | { readonly kind: 'no-promoted-model' | 'up-to-date' | 'refused'; readonly detail: string };

const EMBED_BATCH = 512;

export class Indexer {
  private readonly index: string;
  private readonly quantization: Exclude<Quantization, 'f32'> | null;

  constructor(private readonly options: IndexerOptions) {
    const { config } = options.platform;
    this.index = options.index ?? config.indexName;
    const quantization = options.quantization ?? config.indexQuantization;
    this.quantization = quantization === 'none' ? null : quantization;
  }

  /**
   * One round: a full index of a newly promoted model, else a delta of the
   * catalog's changes. An artifact that does not verify or a URI outside the
   * artifacts root refuses the round (`refused`, with the error's message)
   * instead of throwing: the promoted version stays unindexed until a new
   * event, and the indexer keeps running.
   */
  async indexOnce(): Promise<IndexOutcome> {
    try {
      return await this.round();
    } catch (error) {
      if (!(error instanceof ArtifactIntegrityError)) throw error;
      const { logger, metrics } = this.options.platform;
      indexerMetrics(metrics).refused.inc({ code: error.code });
      logger.error({ err: error.message, code: error.code }, 'indexer refused the promoted model');
      return { kind: 'refused', detail: error.message };
    }
  }

  private async round(): Promise<IndexOutcome> {
    const { platform } = this.options;
    const { log, serde, config } = platform;
    const models = await ModelRegistry.load(log, serde);
    const promoted = models.promoted(config.modelName);
    if (!promoted)
      return { kind: 'no-promoted-model', detail: `${config.modelName} has no promoted version yet` };
    if (promoted.artifacts.length === 0)
      throw new ArtifactIntegrityError(
        `${promoted.model} v${promoted.version} is promoted but has no artifacts`,
      );
    await this.options.store.verify(promoted.artifacts);
    const indexes = await IndexRegistry.load(log, serde);
    const catalog = await readCatalog(log, serde);
    const full = indexes.fullFor(this.index, promoted.model, promoted.version);
    if (!full) return this.buildFull(promoted, indexes.nextVersion(this.index), catalog);
    const variant = await unindexedVariant(log, serde, config.modelName, this.index, models, indexes);
    if (variant) {
      await this.options.store.verify(variant.artifacts);
      return this.buildFull(variant, indexes.nextVersion(this.index), catalog);
    }
    return this.buildDelta(promoted, full, indexes, catalog);
  }

  private modelFile(model: ModelVersion, name: string): Promise<Buffer> {
    return readModelArtifact(this.options.store, model, name);
  }

  private async vocabularies(model: ModelVersion): Promise<ModelVocabularies> {
    const bytes = await this.modelFile(model, MODEL_ARTIFACTS.dataset);
    return modelVocabularies(
      JSON.parse(bytes.toString('utf8')) as DatasetManifest,
      `${model.model} v${model.version} ${MODEL_ARTIFACTS.dataset}`,
    );
  }

  /** An index version's manifest, hashed as read. */
  private async manifest<T>(version: IndexVersion): Promise<T> {
    const what = `index ${version.index} v${version.version} manifest`;
    const bytes = await readArtifact(this.options.store, version.uri, version.sha256, what);
    return JSON.parse(bytes.toString('utf8')) as T;
  }

  private async embedNew(
    model: ModelVersion,
    vocab: ModelVocabularies,
    items: readonly Item[],
  ): Promise<Float32Array[]> {
    if (items.length === 0) return [];
    const bytes = await this.modelFile(model, MODEL_ARTIFACTS.itemTower);
    const tower = await ItemTower.load(MODEL_ARTIFACTS.itemTower, {}, (path, options) =>
      OnnxModel.load(path, options, bytes),
    );
    try {
      const out: Float32Array[] = [];
      for (let i = 0; i < items.length; i += EMBED_BATCH) {
        const batch = catalogItemInputs(items.slice(i, i + EMBED_BATCH), vocab);
        const embeddings = await tower.embed(batch);
        const dims = embeddings.length / batch.size;
        for (let r = 0; r < batch.size; r++) out.push(embeddings.slice(r * dims, (r + 1) * dims));
      }
      return out;
    } finally {
      await tower.close();
    }
  }

  /**
   * The rows a full index of `model` holds: every available catalog item,
   * by id, with its key and vector (the model's exported embedding, or its
   * item tower's for items it never saw).
   */
  async itemVectors(
    model: ModelVersion,
    catalog: ReadonlyMap<string, Item>,
  ): Promise<{ items: IndexedItem[]; vectors: Float32Array; dims: number }> {
    const vocab = await this.vocabularies(model);
    const table = readNpy(
      await this.modelFile(model, MODEL_ARTIFACTS.itemEmbeddings),
      MODEL_ARTIFACTS.itemEmbeddings,
    );
    const dims = table.shape[1]!;
    const matrix = table.data as Float32Array;
    const available = [...catalog.values()]
      .filter((item) => item.available)
      .sort((a, b) => (a.item_id < b.item_id ? -1 : 1));
    const known = available.filter((item) => vocab.lookup('item', item.item_id) > 0);
    const unseen = available.filter((item) => vocab.lookup('item', item.item_id) === 0);
    const items: IndexedItem[] = [];
    const vectors = new Float32Array(available.length * dims);
    for (const item of known) {
      const row = vocab.lookup('item', item.item_id);
      vectors.set(matrix.subarray(row * dims, (row + 1) * dims), items.length * dims);
      items.push([item.item_id, row, item.updated_ts]);
    }
    let next = vocab.vocabularies.item.size;
    const embedded = await this.embedNew(model, vocab, unseen);
    unseen.forEach((item, i) => {
      vectors.set(embedded[i]!, items.length * dims);
      items.push([item.item_id, next++, item.updated_ts]);
    });
    return { items, vectors, dims };
  }

  private async buildFull(
    model: ModelVersion,
    version: number,
    catalog: ReadonlyMap<string, Item>,
  ): Promise<IndexOutcome> {
    const { items, vectors, dims } = await this.itemVectors(model, catalog);
    const keys = items.map(([, key]) => key);
    const work = join(this.options.platform.config.dataDir, 'indexer', 'work', `${this.index}-v${version}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const written = await writeIndexFiles(work, keys, vectors, dims, this.quantization);
    const manifest: IndexManifest = {
      format: INDEX_FORMAT,
      model: model.model,
      model_version: model.version,
      dimensions: dims,
      metric: 'ip',
      ...written,
      items,
    };
    await writeFile(join(work, 'index.json'), JSON.stringify(manifest));
    const event = await this.publish(work, 'index.json', {
      version,
      model,
      kind: 'full',
      base_version: null,
      item_count: items.length,
      dimensions: dims,
    });
    return { kind: 'full', version: event, recallAt10: written.quantized?.recall_at_10 };
  }

  private async buildDelta(
    model: ModelVersion,
    full: IndexVersion,
    indexes: IndexRegistry,
    catalog: ReadonlyMap<string, Item>,
  ): Promise<IndexOutcome> {
    const manifest = await this.manifest<IndexManifest>(full);
    const previous = indexes.latestDelta(this.index, full.version);
    const previousDelta = previous && (await this.manifest<DeltaManifest>(previous));
    const base = new Map(manifest.items.map(([id, key, ts]) => [id, { key, ts }]));
    // The cumulative state: the full index with the newest delta applied.
    const current = new Map(base);
    let nextKey = Math.max(0, ...manifest.items.map(([, key]) => key)) + 1;
    if (previousDelta) {
      for (const u of previousDelta.upserts) {
        current.set(u.item_id, { key: u.key, ts: u.updated_ts });
        nextKey = Math.max(nextKey, u.key + 1);
      }
      for (const r of previousDelta.removed) current.delete(r.item_id);
    }
    const changed = [...catalog.values()]
      .filter(
        (item) =>
          item.available && (current.get(item.item_id)?.ts ?? Number.NEGATIVE_INFINITY) < item.updated_ts,
      )
      .sort((a, b) => (a.item_id < b.item_id ? -1 : 1));
    const gone = [...current].filter(([id]) => !catalog.get(id)?.available);
    if (changed.length === 0 && gone.length === 0)
      return {
        kind: 'up-to-date',
        detail: `index ${this.index} v${previous?.version ?? full.version} covers the catalog`,
      };
    const vocab = await this.vocabularies(model);
    const vectors = await this.embedNew(model, vocab, changed);
    // Cumulative since the base: keep what the previous delta carried, then apply this round.
    const upserts = new Map<string, DeltaManifest['upserts'][number]>();
    const removed = new Map<string, DeltaManifest['removed'][number]>();
    if (previousDelta) {
      for (const u of previousDelta.upserts) upserts.set(u.item_id, u);
      for (const r of previousDelta.removed) removed.set(r.item_id, r);
    }
    changed.forEach((item, i) => {
      const key = current.get(item.item_id)?.key ?? base.get(item.item_id)?.key ?? nextKey++;
      removed.delete(item.item_id);
      upserts.set(item.item_id, {
        item_id: item.item_id,
        key,
        updated_ts: item.updated_ts,
        vector: Array.from(vectors[i]!),
      });
    });
    for (const [id, { key }] of gone) {
      upserts.delete(id);
      if (base.has(id)) removed.set(id, { item_id: id, key });
    }
    const version = indexes.nextVersion(this.index);
    const work = join(this.options.platform.config.dataDir, 'indexer', 'work', `${this.index}-v${version}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const delta: DeltaManifest = {
      format: DELTA_FORMAT,
      base_version: full.version,
      model: model.model,
      model_version: model.version,
      dimensions: full.dimensions,
      upserts: [...upserts.values()],
      removed: [...removed.values()],
    };
    await writeFile(join(work, 'delta.json'), JSON.stringify(delta));
    const event = await this.publish(work, 'delta.json', {
      version,
      model,
      kind: 'delta',
      base_version: full.version,
      item_count: delta.upserts.length + delta.removed.length,
      dimensions: full.dimensions,
    });
    return { kind: 'delta', version: event };
  }

  private async publish(
    work: string,
    file: string,
    what: Pick<IndexVersion, 'version' | 'kind' | 'base_version' | 'item_count' | 'dimensions'> & {
      model: ModelVersion;
    },
  ): Promise<IndexVersion> {
    const { platform, store } = this.options;
    const artifacts = await store.put('indexes', this.index, what.version, work);
    await rm(work, { recursive: true, force: true });
    const main = artifacts.find((a) => a.name === file)!;
    const event: IndexVersion = {
      index: this.index,
      version: what.version,
      model: what.model.model,
      model_version: what.model.version,
      kind: what.kind,
      base_version: what.base_version,
      uri: main.uri,
      sha256: main.sha256,
      item_count: what.item_count,
      dimensions: what.dimensions,
      metric: 'ip',
      built_ts: Date.now(),
    };
    const producer = createProducer({
      log: platform.log,
      serde: platform.serde,
      createTopics: { partitions: platform.config.partitions },
    });
    try {
      await publishIndexVersion(producer, event);
    } finally {
      await producer.close();
    }
    platform.logger.info(
      {
        index: this.index,
        version: event.version,
        kind: event.kind,
        model_version: event.model_version,
        items: event.item_count,
      },
      `index ${this.index} v${event.version} (${event.kind}) published`,
    );
    return event;
  }
}
