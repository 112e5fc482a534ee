/**
 * Parity between the exported ONNX models run in Node and the PyTorch
 * models they were exported from: the engine writes `parity.json` (a few
 * rows of real inputs per model and what PyTorch computed for them); this
 * runs the same inputs through onnxruntime and returns the largest absolute
 * difference per model output.
 *
 * `parity.json` as `export.py` writes it: `{ model: { inputs: { name:
 * tensor }, outputs: { name: tensor } } }`, a tensor being `{ dtype, shape,
 * data }` with `data` flat. Read tolerantly, so the engine can change its
 * mind: the models may be a list of `{ model, inputs, outputs }`, a tensor
 * may be a bare nested list, `data` may be nested, inputs and outputs may be lists in the model's
 * declared order, a single-output model's outputs may be one tensor, and
 * Python's `NaN` / `Infinity` tokens are accepted. Values are converted to
 * the dtype the model declares, and the row count follows from the row
 * width it declares, whatever the file says of dtypes and shapes.
 *
 * @example
 * ```ts
 * const diffs = await checkParity('/data/artifacts/models/recstream/v3');
 * // { 'user_tower.embedding': 2e-7, 'item_tower.embedding': 1e-7, 'ranker.click': 3e-8, 'ranker.engagement': 4e-8 }
 * ```
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_ARTIFACTS } from '../features/feature-service.js';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { storageErrorFrom } from '../runtime/errors.js';
import { OnnxModel } from './onnx-session.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function parseJson(text: string, path: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    // Python's json.dump writes NaN, Infinity and -Infinity bare; quote them and read them back as numbers.
    try {
      return JSON.parse(text.replace(/(?<=[[,:]\s*)(-?Infinity|NaN)(?=\s*[\],}])/g, '"$1"')) as Json;
    } catch (err) {
      throw new ArtifactIntegrityError(`${path} is not JSON: ${(err as Error).message}`, err);
    }
  }
}

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function flatten(value: Json, shape: number[], depth: number, out: number[], what: string): void {
  if (Array.isArray(value)) {
    if (shape.length === depth) shape.push(value.length);
    else if (shape[depth] !== value.length)
      throw new ArtifactIntegrityError(`${what} is a ragged nested list`);
    for (const item of value) flatten(item, shape, depth + 1, out, what);
  } else if (typeof value === 'number' || typeof value === 'string') out.push(Number(value));
  else throw new ArtifactIntegrityError(`${what} holds ${JSON.stringify(value)}, not a number`);
}

/** A tensor's values, flattened in C order (rows are counted by the model's declared row width). */
function tensor(value: Json | undefined, what: string): number[] {
  const body = isObject(value) ? value.data : value;
  if (!Array.isArray(body)) throw new ArtifactIntegrityError(`${what} is not a tensor (no list of values)`);
  const data: number[] = [];
  flatten(body, [], 0, data, what);
  return data;
}

/** Tensors by name: a map, or a list (or a lone tensor) in the model's declared order. */
function byName(value: Json | undefined, names: readonly string[], what: string): Map<string, number[]> {
  if (isObject(value) && !('data' in value))
    return new Map(Object.entries(value).map(([name, t]) => [name, tensor(t, `${what} ${name}`)]));
  // A bare nested-list tensor holds lists or numbers, a list of tensors holds objects (or several bare tensors).
  const list = Array.isArray(value) && (names.length > 1 || value.every(isObject)) ? value : [value ?? null];
  return new Map(list.map((t, i) => [names[i] ?? String(i), tensor(t, `${what} ${names[i] ?? i}`)]));
}

/** |a - b|, where NaN equals NaN and NaN against a number is infinitely far. */
function difference(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b))
    return Number.isNaN(a) && Number.isNaN(b) ? 0 : Number.POSITIVE_INFINITY;
  return a === b ? 0 : Math.abs(a - b);
}

async function compare(
  artifactDir: string,
  name: string,
  entry: Json,
  out: Record<string, number>,
): Promise<void> {
  if (!isObject(entry))
    throw new ArtifactIntegrityError(`parity.json: ${name} is not an object of inputs and outputs`);
  const model = await OnnxModel.load(join(artifactDir, `${name}.onnx`));
  try {
    const inputs = byName(
      entry.inputs,
      model.inputs.map((i) => i.name),
      `parity.json: ${name} input`,
    );
    const expected = byName(
      entry.outputs,
      model.outputs.map((o) => o.name),
      `parity.json: ${name} output`,
    );
    const actual = await model.run(Object.fromEntries(inputs));
    for (const [output, want] of expected) {
      const got = actual[output];
      let worst = got && got.length === want.length ? 0 : Number.POSITIVE_INFINITY;
      want.forEach((v, i) => {
        if (got) worst = Math.max(worst, difference(v, got[i] ?? Number.NaN));
      });
      out[`${name}.${output}`] = worst;
    }
  } finally {
    await model.close();
  }
}

/**
 * Runs each model of `artifactDir/parity.json` on its recorded inputs and
 * returns, per `model.output`, the largest absolute difference from the
 * recorded PyTorch values (Infinity for an output that is missing or of
 * another size, or NaN on one side only).
 *
 * @example
 * ```ts
 * for (const [output, diff] of Object.entries(await checkParity(modelDir)))
 *   assert.ok(diff < 1e-4, `ONNX in Node vs PyTorch for ${output}: ${diff}`);
 * ```
 */
export async function checkParity(artifactDir: string): Promise<Record<string, number>> {
  const path = join(artifactDir, MODEL_ARTIFACTS.parity);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw storageErrorFrom(err, `reading ${path}`);
  }
  const parity = parseJson(text, path);
  const models = Array.isArray(parity)
    ? parity.map((entry, i) => {
        const name = isObject(entry) ? (entry.model ?? entry.name) : undefined;
        return [typeof name === 'string' ? name : String(i), entry] as const;
      })
    : isObject(parity)
      ? Object.entries(parity)
      : [];
  if (models.length === 0) throw new ArtifactIntegrityError(`${path} names no models`);
  const out: Record<string, number> = {};
  for (const [name, entry] of models) await compare(artifactDir, name, entry, out);
  return out;
}
