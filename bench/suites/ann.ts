/**
 * `ann` suite: building the item index responders search (`usearch`, HNSW,
 * inner product) over random unit vectors the size of a catalog
 * (`config.items` × `config.dimensions`, the model's embedding plus its
 * prior coordinate), f32 and the quantised variants, with each one's
 * recall@10 against exact search over 500 of the vectors as queries, and
 * search latency beside exact search's in the same run.
 */
import { AnnIndex, exactSearch, type Quantization, recallAt10 } from '../../inference/ann-index.js';
import { median, metric, type Suite } from '../result.js';

const SIZES = { small: { items: 20_000, runs: 3 }, full: { items: 100_000, runs: 3 } };
const DIMENSIONS = 65;

function unitVectors(n: number, dims: number, seed: number): Float32Array {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const out = new Float32Array(n * dims);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let d = 0; d < dims; d++) {
      const v = next();
      out[r * dims + d] = v;
      norm += v * v;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let d = 0; d < dims; d++) out[r * dims + d]! *= scale;
  }
  return out;
}

export const annSuite: Suite = async ({ scale, progress }) => {
  const size = SIZES[scale];
  const vectors = unitVectors(size.items, DIMENSIONS, 7);
  const keys = Array.from({ length: size.items }, (_, i) => i + 1);
  const results = [];
  for (const quantization of ['f32', 'f16', 'i8'] as Quantization[]) {
    progress(`${quantization}: building ${size.items.toLocaleString()} × ${DIMENSIONS}`);
    const seconds: number[] = [];
    let index: AnnIndex | undefined;
    for (let run = 0; run < size.runs; run++) {
      const started = performance.now();
      index = AnnIndex.build({ dimensions: DIMENSIONS, metric: 'ip', quantization }, keys, vectors);
      seconds.push((performance.now() - started) / 1000);
    }
    const config = { items: size.items, dimensions: DIMENSIONS, quantization, runs: size.runs, all: seconds };
    results.push(metric('ann', `build_seconds_${quantization}`, median(seconds), 's', false, config));
    results.push(
      metric(
        'ann',
        `recall_at_10_${quantization}`,
        recallAt10(index!, keys, vectors, DIMENSIONS),
        'ratio',
        true,
        config,
      ),
    );
    const query = vectors.subarray(0, DIMENSIONS);
    const annTimes: number[] = [];
    const exactTimes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const q = vectors.subarray(i * 97 * DIMENSIONS, (i * 97 + 1) * DIMENSIONS);
      let t = performance.now();
      index!.search(q, 100);
      annTimes.push(performance.now() - t);
      t = performance.now();
      exactSearch(vectors, DIMENSIONS, keys, query, 100);
      exactTimes.push(performance.now() - t);
    }
    results.push(
      metric(
        'ann',
        `search_ms_${quantization}`,
        median(annTimes),
        'ms',
        false,
        { ...config, k: 100, queries: 50 },
        { name: 'exact_search_ms', value: median(exactTimes) },
      ),
    );
  }
  return results;
};
