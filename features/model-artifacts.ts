/**
 * The files of a model version's artifact directory (models/FORMAT.md): the
 * engine writes them under these names and serving, the indexer and
 * evaluation read them by these names, so a name is declared once. The
 * Python engine's copy is generated from here (`npm run gen:features`).
 * Re-exported by `feature-service.ts`: import from there.
 *
 * @example
 * ```ts
 * const manifest = JSON.parse((await readModelArtifact(store, model, MODEL_ARTIFACTS.dataset)).toString('utf8'));
 * ```
 */
export const MODEL_ARTIFACTS = {
  userTower: 'user_tower.onnx',
  itemTower: 'item_tower.onnx',
  ranker: 'ranker.onnx',
  /** float32 [M, D+1]: the item tower over every catalog row. */
  itemEmbeddings: 'item_embeddings.npy',
  /** The towers' and the ranker's state tensors, for a warm start or `--previous`. */
  weights: 'model.npz',
  /** The training set's manifest: vocabularies and dense lane names. */
  dataset: 'dataset.json',
  metrics: 'metrics.json',
  params: 'params.json',
  /** A few rows of inputs per model with what PyTorch computed for them (inference/parity.ts). */
  parity: 'parity.json',
} as const;

/** The name of one artifact file. */
export type ModelArtifact = (typeof MODEL_ARTIFACTS)[keyof typeof MODEL_ARTIFACTS];
