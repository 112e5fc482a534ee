/**
 * A model version ready to score users in Node: its artifacts verified,
 * its vocabularies, its item embeddings and its user tower (onnxruntime).
 * Exact inner-product retrieval over every item the model knows, a batch
 * of users at a time (`ExactCatalog`); the ANN index is the responder's
 * faster path to the same ranking.
 *
 * @example
 * ```ts
 * const scorer = await ModelScorer.open(store, promoted);
 * const [top] = await scorer.topK([{ userId: 'u0', features, context, ts: Date.now() }], 10);
 * await scorer.close();
 * ```
 */

import type { DatasetManifest } from '../features/dataset-manifest.js';
import { MODEL_ARTIFACTS } from '../features/feature-service.js';
import {
  type ModelVocabularies,
  modelVocabularies,
  type UserQuery,
  userTowerInputs,
} from '../features/model-inputs.js';
import { ExactCatalog } from '../inference/exact-catalog.js';
import { readNpy } from '../inference/npy.js';
import { OnnxModel, UserTower } from '../inference/onnx-models.js';
import { type ArtifactStore, readModelArtifact } from '../registry/model-store.js';
import type { ModelVersion } from '../schemas/generated/types.js';

export interface Ranked {
  readonly items: string[];
  readonly scores: number[];
}

export class ModelScorer {
  private constructor(
    readonly vocab: ModelVocabularies,
    private readonly catalog: ExactCatalog,
    private readonly tower: UserTower,
  ) {}

  static async open(store: ArtifactStore, model: ModelVersion): Promise<ModelScorer> {
    await store.verify(model.artifacts);
    // Each file used is parsed from the bytes that were hashed (readModelArtifact).
    const read = (name: string) => readModelArtifact(store, model, name);
    const dataset = JSON.parse((await read(MODEL_ARTIFACTS.dataset)).toString('utf8')) as DatasetManifest;
    const vocab = await modelVocabularies(
      dataset,
      `${model.model} v${model.version} ${MODEL_ARTIFACTS.dataset}`,
    );
    const table = readNpy(await read(MODEL_ARTIFACTS.itemEmbeddings), MODEL_ARTIFACTS.itemEmbeddings);
    const tower = await read(MODEL_ARTIFACTS.userTower);
    return new ModelScorer(
      vocab,
      // Row 0 is the vocabulary's unknown entry, never an item to serve.
      new ExactCatalog(table.data as Float32Array, table.shape[1]!, 1),
      await UserTower.load(MODEL_ARTIFACTS.userTower, {}, (path, options) =>
        OnnxModel.load(path, options, tower),
      ),
    );
  }

  /** Items the model knows (its item vocabulary, without the unknown entry). */
  get catalogSize(): number {
    return this.vocab.manifest.vocabularies.item.length - 1;
  }

  /** Each query's `k` best items, best first, leaving out `excluded(i)` of query i. */
  async topK(
    queries: readonly UserQuery[],
    k: number,
    excluded?: (query: number) => ReadonlySet<string>,
  ): Promise<Ranked[]> {
    const embeddings = await this.tower.embed(userTowerInputs(queries, this.vocab));
    const items = this.vocab.manifest.vocabularies.item;
    const skips = queries.map(
      (_, i) => new Set([...(excluded?.(i) ?? [])].map((item) => this.vocab.lookup('item', item))),
    );
    return this.catalog
      .topK(embeddings, k, (i) => skips[i]!)
      .map((top) => ({ items: top.rows.map((r) => items[r]!), scores: top.scores }));
  }

  close(): Promise<void> {
    return this.tower.close();
  }
}
