/**
 * One ONNX model in `onnxruntime-node` on CPU, fed by input name. Every
 * input is checked against what the model declares before anything runs:
 * a missing input, a row width the model does not take (a batch built for
 * another history length or dense feature count) or a dtype it cannot be
 * converted to is an `InferenceError` naming the model file and the input,
 * never a crash inside onnxruntime or numbers from the wrong layout.
 *
 * @example
 * ```ts
 * const model = await OnnxModel.load('model.onnx', { threads: 2 });
 * const { out } = await model.run({ ids: [1, 2, 3, 4], dense: new Float32Array(6) }); // 2 rows
 * await model.close();
 * ```
 */
import ort from 'onnxruntime-node';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { InferenceError } from './errors.js';
import { widenInt32 } from './int64.js';

/**
 * One input's values, rows flattened in C order. int64 inputs take
 * BigInt64Array, or Int32Array / integer numbers (converted); float32
 * inputs take Float32Array or numbers.
 */
export type Column = BigInt64Array | Int32Array | Float32Array | readonly number[];

export interface SessionOptions {
  /** Threads one inference may use (default 1: a responder runs many requests side by side). */
  readonly threads?: number;
}

/** An input or output as the model declares it; `shape[0]` is the batch dimension (a name when dynamic). */
export interface ValueSpec {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

function specs(path: string, metadata: readonly ort.InferenceSession.ValueMetadata[]): ValueSpec[] {
  return metadata.map((meta) => {
    if (!meta.isTensor)
      throw new InferenceError(`${path}: ${meta.name} is not a tensor; only tensors are fed`);
    return { name: meta.name, type: meta.type, shape: meta.shape };
  });
}

/** Values per row of an input: the product of its non-batch dimensions, which must be fixed. */
function rowWidth(path: string, spec: ValueSpec): number {
  const rest = spec.shape.slice(1);
  if (spec.shape.length === 0 || rest.some((d) => typeof d !== 'number' || d < 0))
    throw new InferenceError(
      `${path}: input ${spec.name} is declared [${spec.shape.join(', ')}]; only the batch dimension may be dynamic`,
    );
  return (rest as number[]).reduce((n, d) => n * d, 1);
}

function toTensor(path: string, spec: ValueSpec, data: Column, dims: number[]): ort.Tensor {
  const wrong = (what: string) =>
    new InferenceError(
      `${path}: input ${spec.name} is ${spec.type} [${spec.shape.join(', ')}], given ${what}`,
    );
  if (spec.type === 'int64') {
    if (data instanceof BigInt64Array) return new ort.Tensor(data, dims);
    if (data instanceof Int32Array) return new ort.Tensor(widenInt32(data), dims);
    if (data instanceof Float32Array) throw wrong('a Float32Array');
    if (Array.isArray(data) && !data.every(Number.isSafeInteger))
      throw wrong('numbers that are not all integers');
    return new ort.Tensor(
      BigInt64Array.from(data, (v) => BigInt(v)),
      dims,
    );
  }
  if (spec.type === 'float32') {
    if (data instanceof Float32Array) return new ort.Tensor(data, dims);
    if (!Array.isArray(data)) throw wrong(`a ${data.constructor.name}`);
    return new ort.Tensor(Float32Array.from(data as readonly number[]), dims);
  }
  throw wrong('values, but only int64 and float32 inputs are fed');
}

/**
 * What serving code uses of a model: `OnnxModel` on the calling thread, or
 * one on a `SessionThread` (`session-thread.ts`).
 */
export interface ModelSession {
  readonly path: string;
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  run(inputs: Readonly<Record<string, Column>>, rows?: number): Promise<Record<string, Float32Array>>;
  close(): Promise<void>;
}

/**
 * One ONNX model with named inputs and float32 outputs; `inputs` and
 * `outputs` are what the model declares.
 *
 * @example
 * ```ts
 * const model = await OnnxModel.load(join(artifactDir, 'ranker.onnx'));
 * model.inputs.find((i) => i.name === 'history_items')?.shape; // ['batch', 20]
 * ```
 */
export class OnnxModel implements ModelSession {
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  /** Values per row of each input, in `inputs` order. */
  private readonly widths: readonly number[];

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly path: string,
  ) {
    this.inputs = specs(path, session.inputMetadata);
    this.outputs = specs(path, session.outputMetadata);
    this.widths = this.inputs.map((spec) => rowWidth(path, spec));
  }

  /**
   * `bytes`, when given, are the model's bytes already read (and checked)
   * from `path`: the session is made from them, and `path` only names the
   * model in errors.
   */
  static async load(path: string, options: SessionOptions = {}, bytes?: Uint8Array): Promise<OnnxModel> {
    let session: ort.InferenceSession;
    try {
      const sessionOptions: ort.InferenceSession.SessionOptions = {
        executionProviders: ['cpu'],
        intraOpNumThreads: options.threads ?? 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // onnxruntime's own log lines would go to stderr beside the JSON logs; its errors reach us as exceptions.
        logSeverityLevel: 4,
      };
      session = await (bytes === undefined
        ? ort.InferenceSession.create(path, sessionOptions)
        : ort.InferenceSession.create(bytes, sessionOptions));
    } catch (err) {
      throw new ArtifactIntegrityError(
        `${path} cannot be loaded as an ONNX model: ${(err as Error).message}`,
        err,
      );
    }
    try {
      return new OnnxModel(session, path);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /**
   * Runs the model on a batch; `inputs` maps each declared input to its
   * flat values (other keys are ignored) and `rows` is the batch size,
   * taken from the inputs when left out. Returns each output's flat values.
   */
  async run(inputs: Readonly<Record<string, Column>>, rows?: number): Promise<Record<string, Float32Array>> {
    const size = rows ?? this.rowsOf(inputs);
    const feeds: Record<string, ort.Tensor> = {};
    this.inputs.forEach((spec, i) => {
      const data = inputs[spec.name];
      const width = this.widths[i]!;
      if (data === undefined)
        throw new InferenceError(`${this.path} needs input ${spec.name}, which the batch lacks`);
      if (data.length !== size * width || (typeof spec.shape[0] === 'number' && spec.shape[0] !== size))
        throw new InferenceError(
          `${this.path}: input ${spec.name} has ${data.length} values for ${size} rows; ` +
            `the model declares [${spec.shape.join(', ')}], so ${width} per row`,
        );
      feeds[spec.name] = toTensor(this.path, spec, data, [size, ...(spec.shape.slice(1) as number[])]);
    });
    if (size === 0) return Object.fromEntries(this.outputs.map((o) => [o.name, new Float32Array(0)]));
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds);
    } catch (err) {
      throw new InferenceError(`${this.path} failed on a batch of ${size}: ${(err as Error).message}`, err);
    }
    const out: Record<string, Float32Array> = {};
    for (const [name, value] of Object.entries(results)) {
      if (!(value.data instanceof Float32Array))
        throw new InferenceError(`${this.path}: output ${name} is ${value.type}; float32 outputs are read`);
      out[name] = value.data;
    }
    return out;
  }

  close(): Promise<void> {
    return this.session.release();
  }

  private rowsOf(inputs: Readonly<Record<string, Column>>): number {
    const first = this.inputs[0];
    const data = first && inputs[first.name];
    if (!first || data === undefined)
      throw new InferenceError(`${this.path} needs input ${first?.name ?? '(none)'}, which the batch lacks`);
    const width = this.widths[0]!;
    if (width === 0 || data.length % width !== 0)
      throw new InferenceError(
        `${this.path}: input ${first.name} has ${data.length} values, not whole rows of ${width} ([${first.shape.join(', ')}])`,
      );
    return data.length / width;
  }
}
