/**
 * The exported models (models/FORMAT.md) run in Node with
 * `onnxruntime-node` on CPU: the user tower (a user's embedding per
 * request, so their newest events count at once), the item tower (new
 * catalog items between trainings) and the ranker. A batch is a struct of
 * typed arrays in the FORMAT.md layout; each input's shape is checked
 * against what the model declares, so a batch built with another
 * vocabulary width or feature count fails naming the input instead of
 * producing numbers.
 *
 * @example
 * ```ts
 * const tower = await UserTower.load(join(artifactDir, 'user_tower.onnx'));
 * const embeddings = await tower.embed(userTowerInputs(queries, vocab)); // Float32Array, rows × D
 * await tower.close();
 * ```
 */
import ort from 'onnxruntime-node';
import { TrainingSetError } from '../runtime/errors.js';
import type { ItemTowerBatch, UserTowerBatch } from '../trainer/model-bundle.js';

type Input = BigInt64Array | Float32Array;

export interface SessionOptions {
  /** Threads one inference may use (default 1: a responder serves many requests side by side). */
  readonly threads?: number;
}

/** One ONNX model with named inputs, run on batches of `size` rows. */
export class OnnxModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly path: string,
  ) {}

  static async load(path: string, options: SessionOptions = {}): Promise<OnnxModel> {
    const session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
    });
    return new OnnxModel(session, path);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** Runs the model; `inputs` maps each input name to its flat data, `size` is the batch's row count. */
  async run(inputs: Readonly<Record<string, Input>>, size: number): Promise<Record<string, Float32Array>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const meta of this.session.inputMetadata) {
      const data = inputs[meta.name];
      if (data === undefined)
        throw new TrainingSetError(`${this.path} needs input ${meta.name}, which the batch lacks`);
      const declared = meta.isTensor ? meta.shape : [];
      const rest = declared.slice(1).map(Number);
      const width = rest.reduce((n, d) => n * d, 1);
      if (rest.some((d) => !Number.isFinite(d)) || data.length !== size * width)
        throw new TrainingSetError(
          `${this.path}: input ${meta.name} has ${data.length} values for ${size} rows, the model expects [${declared.join(', ')}]`,
        );
      feeds[meta.name] = new ort.Tensor(data instanceof BigInt64Array ? 'int64' : 'float32', data, [
        size,
        ...rest,
      ]);
    }
    const results = await this.session.run(feeds);
    const out: Record<string, Float32Array> = {};
    for (const [name, tensor] of Object.entries(results)) out[name] = tensor.data as Float32Array;
    return out;
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

/** `user_tower.onnx`: user inputs → L2-normalised embeddings (rows × D). */
export class UserTower {
  private constructor(private readonly model: OnnxModel) {}

  static async load(path: string, options?: SessionOptions): Promise<UserTower> {
    return new UserTower(await OnnxModel.load(path, options));
  }

  async embed(batch: UserTowerBatch): Promise<Float32Array> {
    const { size, ...inputs } = batch;
    return (await this.model.run(inputs, size)).embedding!;
  }

  close(): Promise<void> {
    return this.model.close();
  }
}

/** `item_tower.onnx`: catalog item inputs → L2-normalised embeddings (rows × D). */
export class ItemTower {
  private constructor(private readonly model: OnnxModel) {}

  static async load(path: string, options?: SessionOptions): Promise<ItemTower> {
    return new ItemTower(await OnnxModel.load(path, options));
  }

  async embed(batch: ItemTowerBatch): Promise<Float32Array> {
    const { size, ...inputs } = batch;
    return (await this.model.run(inputs, size)).embedding!;
  }

  close(): Promise<void> {
    return this.model.close();
  }
}
