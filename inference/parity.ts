/**
 * Parity between the exported ONNX models run in Node and the PyTorch
 * models that were exported: the engine writes `parity.json` (a few rows of
 * real inputs per model and what PyTorch computed for them); this runs the
 * same inputs through onnxruntime and returns the largest absolute
 * difference per model.
 *
 * @example
 * ```ts
 * const diffs = await checkParity('/data/artifacts/models/recstream/v3');
 * // { user_tower: 2e-7, item_tower: 1e-7, ranker: 3e-7 }
 * ```
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OnnxModel } from './onnx-models.js';

interface ParityTensor {
  readonly dtype: 'int64' | 'float32';
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

type Parity = Record<string, { inputs: Record<string, ParityTensor>; outputs: Record<string, ParityTensor> }>;

export async function checkParity(artifactDir: string): Promise<Record<string, number>> {
  const parity = JSON.parse(await readFile(join(artifactDir, 'parity.json'), 'utf8')) as Parity;
  const out: Record<string, number> = {};
  for (const [name, { inputs, outputs }] of Object.entries(parity)) {
    const model = await OnnxModel.load(join(artifactDir, `${name}.onnx`));
    try {
      const feeds: Record<string, BigInt64Array | Float32Array> = {};
      let rows = 0;
      for (const [input, tensor] of Object.entries(inputs)) {
        rows = tensor.shape[0]!;
        feeds[input] =
          tensor.dtype === 'int64'
            ? BigInt64Array.from(tensor.data, (v) => BigInt(v))
            : Float32Array.from(tensor.data);
      }
      const results = await model.run(feeds, rows);
      let worst = 0;
      for (const [output, expected] of Object.entries(outputs)) {
        const actual = results[output];
        if (!actual || actual.length !== expected.data.length)
          return { ...out, [name]: Number.POSITIVE_INFINITY };
        expected.data.forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - actual[i]!));
        });
      }
      out[name] = worst;
    } finally {
      await model.close();
    }
  }
  return out;
}
