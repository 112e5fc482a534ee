/**
 * A model version ready to score users in Node: its artifacts verified,
 * its vocabularies, its item embeddings and its user tower (onnxruntime).
 * Exact inner-product retrieval over every item the model knows; the ANN
 * index is the responder's faster path to the same ranking.
 *
 * @example
 * ```ts
 * const scorer = await ModelScorer.open(store, promoted);
 * const [top] = await scorer.topK([{ userId: 'u0', features, context, ts: Date.now() }], 10);
 * await scorer.close();
 * ```
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readNpy } from '../inference/npy.js';
import { UserTower } from '../inference/onnx-models.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import {
  loadModelVocabularies,
  type ModelVocabularies,
  type UserQuery,
  userTowerInputs,
} from '../trainer/model-bundle.js';
import type { ArtifactStore } from '../trainer/model-store.js';
import { topK } from './top-k.js';

export interface Ranked {
  readonly items: string[];
  readonly scores: number[];
}

export class ModelScorer {
  private constructor(
    readonly vocab: ModelVocabularies,
    private readonly matrix: Float32Array,
    private readonly dims: number,
    private readonly tower: UserTower,
  ) {}

  static async open(store: ArtifactStore, model: ModelVersion): Promise<ModelScorer> {
    await store.verify(model.artifacts);
    const dir = dirname(store.localPath(model.artifacts[0]!.uri));
    const vocab = await loadModelVocabularies(join(dir, 'dataset.json'));
    const table = readNpy(await readFile(join(dir, 'item_embeddings.npy')), 'item_embeddings.npy');
    return new ModelScorer(
      vocab,
      table.data as Float32Array,
      table.shape[1]!,
      await UserTower.load(join(dir, 'user_tower.onnx')),
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
    return queries.map((_, i) => {
      const skip = new Set([...(excluded?.(i) ?? [])].map((item) => this.vocab.lookup('item', item)));
      const query = embeddings.subarray(i * this.dims, (i + 1) * this.dims);
      const top = topK(query, this.matrix, this.dims, k, (row) => skip.has(row));
      return { items: top.rows.map((r) => items[r]!), scores: top.scores };
    });
  }

  close(): Promise<void> {
    return this.tower.close();
  }
}
