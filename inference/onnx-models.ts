/**
 * The exported models of an artifact directory (models/FORMAT.md) in
 * `onnxruntime-node` on CPU: the user tower (a user's embedding per request,
 * so their newest events count at once), the item tower (items that arrived
 * after training) and the ranker. A batch is a struct of columns in the
 * FORMAT.md layout, rows flattened in C order; `size` (the row count) is
 * optional and checked when given. Each model is checked at load for the
 * outputs its wrapper reads, and each batch against the inputs the model
 * declares (see `OnnxModel`).
 *
 * @example
 * ```ts
 * const models = await loadModels(artifactDir);
 * const users = await models.userTower.embed(userTowerInputs(queries, vocab)); // rows × (D+1)
 * const { click, engagement } = await models.ranker.score(rankerBatch);          // one per row
 * await models.close();
 * ```
 */
import { basename, join } from 'node:path';
import { FEATURE_SERVICE, type FeatureDeclaration, type FeatureModel } from '../features/feature-service.js';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { BatchingSession } from './batching-session.js';
import { InferenceError } from './errors.js';
import { type Column, type ModelSession, OnnxModel, type SessionOptions } from './onnx-session.js';
import { SessionThread } from './session-thread.js';

export {
  type Column,
  type ModelSession,
  OnnxModel,
  type SessionOptions,
  type ValueSpec,
} from './onnx-session.js';

/** How `loadModels` creates the sessions of one artifact directory. */
export interface ModelsOptions extends SessionOptions {
  /**
   * Create and run the three sessions on a worker thread of their own, so
   * creating them (synchronous in onnxruntime) does not stall the caller's
   * event loop, and join the runs concurrent callers ask for into one batch
   * (`BatchingSession`): what a serving responder wants. Default false:
   * batch scoring runs them on the calling thread.
   */
  readonly ownThread?: boolean;
  /**
   * Like `ownThread`, on a thread the caller made: one that also holds the
   * pair's ANN index (`SessionThread.openIndex`). The thread ends once its
   * sessions and index are all closed.
   */
  readonly thread?: SessionThread;
  /**
   * The sha256 each model file must have, by file name: each is read once,
   * hashed, and its session made from those bytes (on a thread only:
   * `ownThread` or `thread`), so what runs is what was checked.
   */
  readonly sha256?: Readonly<Record<string, string>>;
}

/** The most rows concurrent callers' runs are joined into (a ranker call of 100 candidates is 100 rows). */
const BATCH_ROWS = 4096;

/** Creates one session: `OnnxModel.load`, or a `SessionThread`'s. */
export type SessionLoader = (path: string, options?: SessionOptions) => Promise<ModelSession>;

const MODEL_FILES = Object.values(FEATURE_SERVICE).map((model) => model.file);
const onCallingThread: SessionLoader = (path, options) => OnnxModel.load(path, options);

/** An int64 column: BigInt64Array, or Int32Array / integer numbers converted on the way in. */
export type IntColumn = BigInt64Array | Int32Array | readonly number[];
export type FloatColumn = Float32Array | readonly number[];

/**
 * A declared model's inputs: one column per declared feature, named as the
 * declaration names it, float32 numbers or int64 ids, [B] for a one-lane
 * feature and [B, lanes] otherwise, rows flattened.
 */
export type ModelInputs<Fs extends readonly FeatureDeclaration[]> = {
  readonly [F in Fs[number] as F['name']]: F['dtype'] extends 'float32' ? FloatColumn : IntColumn;
} & { readonly size?: number };

/** `user_tower.onnx` inputs (FEATURE_SERVICE.userTower). */
export type UserTowerInputs = ModelInputs<typeof FEATURE_SERVICE.userTower.features>;
/** `item_tower.onnx` inputs (FEATURE_SERVICE.itemTower). */
export type ItemTowerInputs = ModelInputs<typeof FEATURE_SERVICE.itemTower.features>;
/** `ranker.onnx` inputs (FEATURE_SERVICE.ranker): the user tower's plus the candidate item's. */
export type RankerInputs = ModelInputs<typeof FEATURE_SERVICE.ranker.features>;

/** The ranker's probabilities, one per row, by declared output. */
export type RankerScores = Readonly<Record<(typeof FEATURE_SERVICE.ranker.outputs)[number], Float32Array>>;

async function loadWith(
  path: string,
  { outputs }: FeatureModel,
  options?: SessionOptions,
  loader: SessionLoader = onCallingThread,
): Promise<ModelSession> {
  const model = await loader(path, options);
  const missing = outputs.filter((name) => !model.outputs.some((o) => o.name === name));
  if (missing.length > 0) {
    await model.close();
    throw new InferenceError(
      `${path} has outputs [${model.outputs.map((o) => o.name).join(', ')}], not ${missing.join(', ')}: not the model expected there`,
    );
  }
  return model;
}

function run(model: ModelSession, batch: { readonly size?: number }): Promise<Record<string, Float32Array>> {
  const { size, ...inputs } = batch;
  return model.run(inputs as Record<string, Column>, size);
}

/** A tower's one declared output: its embeddings. */
async function embed(
  model: ModelSession,
  { outputs: [embedding] }: FeatureModel,
  batch: { readonly size?: number },
): Promise<Float32Array> {
  return (await run(model, batch))[embedding!]!;
}

/**
 * `user_tower.onnx`: user inputs → embeddings, rows × (D+1): an
 * L2-normalised D-vector, then 1.
 *
 * @example
 * ```ts
 * const tower = await UserTower.load(join(artifactDir, FEATURE_SERVICE.userTower.file));
 * const embeddings = await tower.embed(userTowerInputs(queries, vocab));
 * ```
 */
export class UserTower {
  private constructor(readonly model: ModelSession) {}

  static async load(path: string, options?: SessionOptions, loader?: SessionLoader): Promise<UserTower> {
    return new UserTower(await loadWith(path, FEATURE_SERVICE.userTower, options, loader));
  }

  embed(batch: UserTowerInputs): Promise<Float32Array> {
    return embed(this.model, FEATURE_SERVICE.userTower, batch);
  }

  close(): Promise<void> {
    return this.model.close();
  }
}

/**
 * `item_tower.onnx`: catalog inputs → embeddings, rows × (D+1): an
 * L2-normalised D-vector, then the item's prior × the temperature.
 *
 * @example
 * ```ts
 * const tower = await ItemTower.load(join(artifactDir, FEATURE_SERVICE.itemTower.file));
 * const embeddings = await tower.embed(catalogItemInputs(newItems, vocab));
 * ```
 */
export class ItemTower {
  private constructor(readonly model: ModelSession) {}

  static async load(path: string, options?: SessionOptions, loader?: SessionLoader): Promise<ItemTower> {
    return new ItemTower(await loadWith(path, FEATURE_SERVICE.itemTower, options, loader));
  }

  embed(batch: ItemTowerInputs): Promise<Float32Array> {
    return embed(this.model, FEATURE_SERVICE.itemTower, batch);
  }

  close(): Promise<void> {
    return this.model.close();
  }
}

/**
 * `ranker.onnx`: user × candidate inputs → click and engagement
 * probabilities.
 *
 * @example
 * ```ts
 * const ranker = await Ranker.load(join(artifactDir, FEATURE_SERVICE.ranker.file));
 * const { click } = await ranker.score(batch); // Float32Array, one per candidate row
 * ```
 */
export class Ranker {
  private constructor(readonly model: ModelSession) {}

  static async load(path: string, options?: SessionOptions, loader?: SessionLoader): Promise<Ranker> {
    return new Ranker(await loadWith(path, FEATURE_SERVICE.ranker, options, loader));
  }

  async score(batch: RankerInputs): Promise<RankerScores> {
    const out = await run(this.model, batch);
    return Object.fromEntries(
      FEATURE_SERVICE.ranker.outputs.map((name) => [name, out[name]!]),
    ) as RankerScores;
  }

  close(): Promise<void> {
    return this.model.close();
  }
}

/** The three models of one artifact directory. */
export interface Models {
  readonly userTower: UserTower;
  readonly itemTower: ItemTower;
  readonly ranker: Ranker;
  close(): Promise<void>;
}

/**
 * Loads `user_tower.onnx`, `item_tower.onnx` and `ranker.onnx` from an
 * artifact directory; nothing stays open when one of them fails.
 *
 * @example
 * ```ts
 * const models = await loadModels(artifactDir, { threads: 2 });
 * const served = await loadModels(artifactDir, { threads: 1, ownThread: true });
 * ```
 */
export async function loadModels(artifactDir: string, options: ModelsOptions = {}): Promise<Models> {
  const { ownThread, thread: given, sha256, ...session } = options;
  if (sha256 !== undefined) {
    if (given === undefined && !ownThread)
      throw new InferenceError('loadModels checks sha256 on a session thread only');
    const unpinned = MODEL_FILES.filter((file) => sha256[file] === undefined);
    if (unpinned.length > 0)
      throw new ArtifactIntegrityError(`${artifactDir}: no sha256 given for ${unpinned.join(', ')}`);
  }
  let loader = onCallingThread;
  const thread = given ?? (ownThread ? new SessionThread() : undefined);
  if (thread !== undefined)
    loader = async (path, opts) =>
      new BatchingSession(await thread.load(path, opts, sha256?.[basename(path)]), BATCH_ROWS);
  const loaded = await Promise.allSettled([
    UserTower.load(join(artifactDir, FEATURE_SERVICE.userTower.file), session, loader),
    ItemTower.load(join(artifactDir, FEATURE_SERVICE.itemTower.file), session, loader),
    Ranker.load(join(artifactDir, FEATURE_SERVICE.ranker.file), session, loader),
  ]);
  const [userTower, itemTower, ranker] = loaded;
  if (userTower.status === 'fulfilled' && itemTower.status === 'fulfilled' && ranker.status === 'fulfilled')
    return {
      userTower: userTower.value,
      itemTower: itemTower.value,
      ranker: ranker.value,
      close: async () => {
        await Promise.all([userTower.value.close(), itemTower.value.close(), ranker.value.close()]);
      },
    };
  await Promise.all(loaded.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
  throw loaded.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason;
}
