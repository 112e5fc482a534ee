/**
 * A batch of model inputs laid out by the declaration: one flat typed
 * column per declared feature, typed from the declaration so an input
 * builder cannot fill a column the model does not take. Re-exported by
 * `feature-service.ts`: import from there.
 */
import { type FeatureDeclaration, featureWidth } from './feature-declaration.js';

/** A batch's column for a declared feature: ids travel as int32 (every vocabulary index fits), numbers as float32. */
export type BatchColumn<F extends Pick<FeatureDeclaration, 'dtype'>> = F['dtype'] extends 'float32'
  ? Float32Array
  : Int32Array;

/** A batch of model inputs: one flattened column per declared feature, plus the row count. */
export type FeatureBatch<Fs extends readonly FeatureDeclaration[]> = {
  readonly [F in Fs[number] as F['name']]: BatchColumn<F>;
} & { readonly size: number };

/** A zeroed batch of `n` rows for `features` (a missing id encodes as 0, its default). */
export function allocateBatch<Fs extends readonly FeatureDeclaration[]>(
  features: Fs,
  n: number,
): FeatureBatch<Fs> {
  const batch: Record<string, Int32Array | Float32Array | number> = { size: n };
  for (const f of features)
    batch[f.name] =
      f.dtype === 'float32' ? new Float32Array(n * featureWidth(f)) : new Int32Array(n * featureWidth(f));
  return batch as unknown as FeatureBatch<Fs>;
}
