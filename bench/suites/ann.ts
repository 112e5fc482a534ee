/**
 * `ann` suite: the item index responders search, over the `serve` suite's
 * world (a promoted model trained on 100,000 simulated items, its item
 * rows as the indexer indexes them and its user tower's vectors for users
 * with history as queries; `bench/ann/served-vectors.ts`). Two kinds of
 * index, each the f16 copy responders search, as the indexer builds it
 * (16 edges per node, expansion 128 while adding):
 *
 * - `ip`: inner product over the vectors as they are (index format 1);
 * - `mips`: the vectors lifted onto a sphere and searched by L2 distance
 *   (`inference/sphere-lift.ts`, index format 2), the same ranking.
 *
 * The kind the world's indexer wrote is its served file itself
 * (`config.source` `world`); the other is built here (`built`, its
 * `build_seconds` on every core beside it).
 *
 * For each kind and search expansion, `recall_at_100` is the share of the
 * exact inner-product top 100 (brute force over every row,
 * `inference/ann-recall.ts`) that the index returns in its top 100,
 * averaged over the queries; `search_us` is the median over `runs` passes
 * of the CPU µs per query (one thread; CPU time, so that other work on the
 * machine does not count), with exact search's as its reference. usearch
 * keeps at least as many candidates as it is asked for, so expansions
 * under 100 search as 100 here; a responder asks for 100 plus what its
 * filters may drop.
 */
import { join } from 'node:path';
import { AnnIndex, type AnnIndexConfig } from '../../inference/ann-index.js';
import { exactSearch } from '../../inference/ann-recall.js';
import { norm } from '../../inference/sphere-lift.js';
import { servedVectors } from '../ann/served-vectors.js';
import { type BenchResult, median, metric, type Suite } from '../result.js';
import { serveWorld } from '../serve/world.js';

const SIZES = { small: { users: 200, runs: 3 }, full: { users: 1_000, runs: 3 } };
const EXPANSIONS = [32, 64, 128, 192, 256, 512];
const K = 100;
const KINDS = ['ip', 'mips'] as const;

function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

export const annSuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  const world = await serveWorld(scale, progress);
  progress(`reading ${world.model}'s item rows and ${size.users} users' vectors from the world`);
  const served = await servedVectors({ world, workDir, users: size.users });
  const { dims, keys, vectors, queries } = served;
  const count = queries.length / dims;
  const query = (q: number) => queries.subarray(q * dims, (q + 1) * dims);
  const norms = keys.map((_, i) => norm(vectors, i * dims, (i + 1) * dims)).sort((a, b) => a - b);

  progress(`exact top ${K} of ${count} queries over ${keys.length.toLocaleString('en-US')} × ${dims}`);
  const before = cpuUs();
  const exact = Array.from(
    { length: count },
    (_, q) => new Set(exactSearch(vectors, dims, keys, query(q), K).keys),
  );
  const exactUs = (cpuUs() - before) / count;

  const shared = {
    model: served.model,
    items: keys.length,
    dimensions: dims,
    norms: { min: norms[0], median: median(norms), max: norms.at(-1) },
    queries: count,
    k: K,
    quantization: 'f16',
  };
  const results: BenchResult[] = [];
  for (const kind of KINDS) {
    let path = served.servedFile;
    let config: Partial<AnnIndexConfig> = served.servedConfig;
    const source = config.metric === kind ? 'world' : 'built';
    if (source === 'built') {
      progress(`${kind}: building the f16 index`);
      const started = performance.now();
      const built = AnnIndex.build({ dimensions: dims, metric: kind, quantization: 'f16' }, keys, vectors);
      const seconds = (performance.now() - started) / 1000;
      path = join(workDir, `${kind}.usearch`);
      built.save(path);
      config = built.config;
      results.push(metric('ann', 'build_seconds', seconds, 's', false, { ...shared, kind }));
    }
    for (const expansion of EXPANSIONS) {
      const index = AnnIndex.load(path, { ...config, expansionSearch: expansion });
      let hits = 0;
      const passes: number[] = [];
      for (let run = 0; run < size.runs; run++) {
        const started = cpuUs();
        for (let q = 0; q < count; q++) {
          const found = index.search(query(q), K);
          if (run === 0) for (const key of found.keys) if (exact[q]!.has(key)) hits++;
        }
        passes.push((cpuUs() - started) / count);
      }
      const row = { ...shared, kind, source, expansion, runs: size.runs };
      const recall = hits / (count * K);
      progress(
        `${kind} expansion ${expansion}: recall@${K} ${recall.toFixed(4)}, ${median(passes).toFixed(0)} CPU µs/query`,
      );
      results.push(
        metric('ann', 'recall_at_100', recall, 'ratio', true, row),
        metric(
          'ann',
          'search_us',
          median(passes),
          'µs',
          false,
          { ...row, all: passes },
          {
            name: 'exact_search_us',
            value: exactUs,
          },
        ),
      );
    }
  }
  return results;
};
