/**
 * What the `ann` suite measures an index over, from the `serve` suite's
 * world (`bench/serve/world.ts`: a simulated catalog, models trained on
 * it for real): the promoted model's item rows exactly as the indexer
 * indexes them (`Indexer.itemVectors`), and user vectors as a responder
 * makes them (each user's features from the online store, the exported
 * user tower in onnxruntime) for `users` users with history, evenly spread;
 * and the f16 copy responders search of the model's full index as the
 * world's indexer wrote it, with the metric its manifest opens it with.
 *
 * The world is read from a private copy of its data dir, since the
 * in-process online store runs the `features` application over it.
 *
 * @example
 * ```ts
 * const served = await servedVectors({ world, workDir, users: 500 });
 * served.items.vectors; served.queries; // rows of served.dims
 * ```
 */
import { dirname, join } from 'node:path';
import { withUserFeatures } from '../../evaluation/user-features.js';
import type { DatasetManifest } from '../../features/dataset-manifest.js';
import { MODEL_ARTIFACTS } from '../../features/feature-service.js';
import { modelVocabularies, type UserQuery, userTowerInputs } from '../../features/model-inputs.js';
import { annConfigOf, type IndexManifest } from '../../indexer/index-files.js';
import { Indexer } from '../../indexer/indexer.js';
import type { AnnIndexConfig } from '../../inference/ann-index.js';
import { OnnxModel, UserTower } from '../../inference/onnx-models.js';
import { readCatalog } from '../../registry/catalog.js';
import { IndexRegistry } from '../../registry/index-registry.js';
import { ModelRegistry } from '../../registry/model-registry.js';
import { artifactFile, artifactStore, readModelArtifact } from '../../registry/model-store.js';
import { readVerified, servedIndexFile } from '../../responders/recommend/bundle-verification.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { openPlatform } from '../../schemas/platform.js';
import { copyWorld, type World } from '../serve/world.js';

const NO_CONTEXT = { device: null, country: null, session_id: null, surface: null, request_id: null };
const BATCH = 256;

export interface ServedVectors {
  readonly model: string;
  readonly dims: number;
  readonly keys: number[];
  /** Item rows as indexed, `dims` each. */
  readonly vectors: Float32Array;
  /** User vectors, `dims` each. */
  readonly queries: Float32Array;
  /** The world's served index file and how it is opened (`annConfigOf` of its manifest). */
  readonly servedFile: string;
  readonly servedConfig: Partial<AnnIndexConfig>;
}

export async function servedVectors(options: {
  readonly world: World;
  readonly workDir: string;
  readonly users: number;
}): Promise<ServedVectors> {
  const { world } = options;
  const dataDir = await copyWorld(world, join(options.workDir, 'data'));
  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  try {
    const model = (await ModelRegistry.load(platform.log, platform.serde)).promoted(world.model);
    if (model === undefined)
      throw new Error(`ann bench: ${world.model} has no promoted version in the world`);
    const store = artifactStore(dataDir);
    const catalog = await readCatalog(platform.log, platform.serde);
    const { items, vectors, dims } = await new Indexer({ platform, store }).itemVectors(model, catalog);
    const index = (await IndexRegistry.load(platform.log, platform.serde)).fullFor(
      platform.config.indexName,
      model.model,
      model.version,
    );
    if (index === undefined) throw new Error(`ann bench: no full index of ${model.model} v${model.version}`);
    const manifest = await readVerified<IndexManifest>(store, index);
    const servedFile = artifactFile(dirname(store.localPath(index.uri)), servedIndexFile(manifest, 'f16'));
    const read = (name: string) => readModelArtifact(store, model, name);
    const dataset = JSON.parse((await read(MODEL_ARTIFACTS.dataset)).toString('utf8')) as DatasetManifest;
    const vocab = await modelVocabularies(
      dataset,
      `${model.model} v${model.version} ${MODEL_ARTIFACTS.dataset}`,
    );
    const towerBytes = await read(MODEL_ARTIFACTS.userTower);
    const tower = await UserTower.load(MODEL_ARTIFACTS.userTower, {}, (path, opts) =>
      OnnxModel.load(path, opts, towerBytes),
    );
    const all = world.usersWithHistory;
    const step = Math.max(1, Math.floor(all.length / options.users));
    const users = all.filter((_, i) => i % step === 0).slice(0, options.users);
    const queries = new Float32Array(users.length * dims);
    const now = Date.now();
    try {
      await withUserFeatures(platform, async (readFeatures) => {
        for (let from = 0; from < users.length; from += BATCH) {
          const batch = users.slice(from, from + BATCH);
          const features = await readFeatures(batch, now);
          const asked: UserQuery[] = batch.map((userId, i) => ({
            userId,
            features: features[i]!,
            context: NO_CONTEXT,
            ts: now,
          }));
          queries.set(
            (await tower.embed(userTowerInputs(asked, vocab))).subarray(0, batch.length * dims),
            from * dims,
          );
        }
      });
    } finally {
      await tower.close();
    }
    return {
      model: `${model.model}@${model.version}`,
      dims,
      keys: items.map(([, key]) => key),
      vectors,
      queries,
      servedFile,
      servedConfig: annConfigOf(manifest),
    };
  } finally {
    await platform.close();
  }
}
