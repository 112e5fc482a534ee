/**
 * `quality` suite: recommendation quality through the whole
 * pipeline, one row per data set and model, with the popularity baseline
 * scored on the same users in the same run.
 *
 * For each data set: a fresh data dir, the data imported (or simulated)
 * with `recstream`, `process --once` for `features` then `snapshots`,
 * `recstream train --once` (default engine settings), then every holdout
 * user scored through the serving path (evaluation/evaluate-model.ts): the
 * user's features from the online store, the exported user tower in
 * onnxruntime, exact retrieval over the model's item embeddings, items
 * seen in training left out.
 *
 * - `lastfm` and `ml-1m` (`lastfm/`, `ml-1m/` in BENCH_DATA_DIR): train.txt +
 *   valid.txt → test.txt, all items ranked (the graph-CF protocol); laid
 *   out in time and served as `recstream eval` does, each user a second
 *   after their own last training event.
 * - `ml-100k` (`ml-100k/` in BENCH_DATA_DIR): u1.base → u1.test, every rated
 *   test item relevant.
 * - `synthetic`: a simulated world; relevant = each user's 20 most
 *   preferred items by the simulator's ground truth, nothing left out.
 *   Beside popularity, a `ceiling` row for scale (bench/quality/ceiling.ts): what the
 *   world's interactions allow a ranker that is handed the simulator's own
 *   item vectors.
 * - `closed-loop`: an A/B test of recstream against popularity served by a
 *   real responder to a simulated world's users, who react by their true
 *   tastes; the rows are each variant's true and measured click-through
 *   (bench/quality/closed-loop.ts).
 *
 * Beside popularity, every data set has an `item-knn` row: cosine
 * item-item similarity over the training part, 200 neighbours per item,
 * scored on the same users with the same exclusions
 * (evaluation/item-knn-baseline.ts); its `train_seconds` is the time to
 * compute the similarities.
 *
 * The pipeline runs with snapshots of 500 examples per partition and ends
 * its input at the end of the import, so the last open snapshot of each
 * partition closes and every example is trained on (see
 * bench/quality/pipeline.ts); what is trained on is reported in `config`.
 *
 * `RECSTREAM_QUALITY_DATASETS=synthetic` (a comma-separated list) runs only
 * those data sets; the rows of the others are kept as they were in
 * `bench/results/quality.json`, so the file still holds every data set.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DATA_DIR } from '../datasets.js';
import { closedLoopRows } from '../quality/closed-loop.js';
import type { Prepared } from '../quality/pipeline.js';
import { prepareLinesSplit, prepareMovielens } from '../quality/public-datasets.js';
import { evaluate, itemKnn, qualityRows } from '../quality/scoring.js';
import { DATASETS, keptRows, selectedDatasets } from '../quality/selection.js';
import { prepareSynthetic } from '../quality/synthetic.js';
import type { BenchResult, Suite } from '../result.js';
import { timedTrainRound } from '../train-round.js';

export const qualitySuite: Suite = async ({ scale, workDir, progress }) => {
  const selected = selectedDatasets();
  const datasets: [string, (dir: string) => Promise<Prepared>][] = [];
  if (selected.has('synthetic')) datasets.push(['synthetic', (dir) => prepareSynthetic(dir, scale)]);
  for (const [name, file, prepare] of [
    ['lastfm', 'test.txt', (dir: string) => prepareLinesSplit('lastfm', dir)],
    ['ml-1m', 'test.txt', (dir: string) => prepareLinesSplit('ml-1m', dir)],
    ['ml-100k', 'u1.base', prepareMovielens],
  ] as const) {
    if (!selected.has(name)) continue;
    if (existsSync(join(BENCH_DATA_DIR, name, file))) datasets.push([name, prepare]);
    else progress(`${name} skipped: ${join(BENCH_DATA_DIR, name)} not found`);
  }
  const results: BenchResult[] = [];
  for (const [name, prepare] of datasets) {
    const dataDir = join(workDir, name, 'data');
    progress(`${name}: building the pipeline`);
    const prepared = await prepare(dataDir);
    progress(`${name}: training`);
    const { model, seconds } = await timedTrainRound(dataDir);
    progress(`${name}: scoring ${prepared.holdout.size} users through the serving path`);
    const scored = await evaluate(dataDir, model, prepared);
    progress(`${name}: item-kNN baseline`);
    results.push(
      ...qualityRows(name, scored, model, seconds, prepared.config, {
        ceiling: prepared.ceiling,
        itemKnn: itemKnn(prepared),
      }),
    );
  }
  const run = new Set(datasets.map(([name]) => name));
  if (selected.has('closed-loop')) {
    results.push(...(await closedLoopRows(workDir, progress)));
    run.add('closed-loop');
  }
  if (selected.size < DATASETS.length) results.push(...(await keptRows(run)));
  return results;
};
