/**
 * `pipeline` suite: a data set from nothing to scored lists, every stage an
 * operator runs, timed: `simulate` (the events written to the embedded
 * log, standing for an import), `process --app features`, `process --app
 * snapshots`, one `train` round with the default settings, `index --once`
 * (the served HNSW index), and the evaluation of every user as the
 * `quality` suite scores them (evaluation/evaluate-model.ts: features as
 * a responder reads them, the exported user tower, exact retrieval over
 * every item).
 *
 * - `pipeline_seconds`: the sum of the stages; `config.stage_seconds` has
 *   each, `config.target_seconds` the limit the full size is held to: 10
 *   minutes for 30,000 users × 40,000 items × 1,000,000 events on two CPU
 *   cores (the small size, a tenth of each, has none).
 * - `pipeline_recall_at_20` (reference: popularity on the same users):
 *   what the run produced, relevant = each user's 20 most preferred items
 *   by the simulator's ground truth, as the `quality` suite's synthetic
 *   rows. The ground truth is the bench's answer key, so the time the
 *   simulator takes to write it is not a stage.
 *
 * @example
 * ```sh
 * recstream bench pipeline --scale full
 * ```
 */
import { join } from 'node:path';
import { processAll } from '../quality/pipeline.js';
import { evaluate } from '../quality/scoring.js';
import { readInteractions, readTruth } from '../quality/synthetic-world.js';
import { recstream } from '../recstream-cli.js';
import { metric, type Suite } from '../result.js';
import { timedTrainRound } from '../train-round.js';

const SIZES = {
  small: { users: 3_000, items: 4_000, events: 100_000, targetSeconds: null },
  full: { users: 30_000, items: 40_000, events: 1_000_000, targetSeconds: 600 },
};

async function timed<T>(stage: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await stage();
  return { value, seconds: (performance.now() - started) / 1000 };
}

export const pipelineSuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  const dataDir = join(workDir, 'data');
  const truthPath = join(workDir, 'truth.jsonl');
  const shape = ['--users', String(size.users), '--items', String(size.items)];
  const world = [...shape, '--events', String(size.events), '--days', '14', '--seed', '11'];
  const stages: Record<string, number> = {};
  const stage = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const { value, seconds } = await timed(run);
    stages[name] = Math.round(seconds * 10) / 10;
    progress(`${name}: ${seconds.toFixed(1)} s`);
    return value;
  };
  progress(`${size.users} users × ${size.items} items × ${size.events} events`);
  await stage('simulate', () => recstream(['simulate', ...world, '--data-dir', dataDir]));
  // The same seeded world again, into a scratch dir, for its ground truth.
  await recstream([
    'simulate',
    ...world,
    '--truth',
    truthPath,
    '--truth-top',
    '20',
    '--data-dir',
    join(workDir, 'truth-world'),
  ]);
  await stage('features and snapshots', () => processAll(dataDir));
  const { model } = await stage('train', () => timedTrainRound(dataDir));
  await stage('index', () => recstream(['index', '--once', '--data-dir', dataDir]));
  const truth = await readTruth(truthPath);
  const log = await readInteractions(dataDir);
  const scored = await stage('evaluate', () =>
    evaluate(dataDir, model, {
      holdout: new Map(truth.users.map((user) => [user.id, user.top])),
      seen: log.seen,
      excludeSeen: false,
      now: truth.at,
      config: {},
    }),
  );
  const seconds = Object.values(stages).reduce((a, b) => a + b, 0);
  const config = {
    users: size.users,
    items: size.items,
    events: size.events,
    stage_seconds: stages,
    target_seconds: size.targetSeconds,
    device: model.device,
    model_version: model.version,
    retrieval_epochs: Number(model.params['engine.retrieval_epochs']),
    examples: model.params.examples ?? null,
  };
  return [
    metric('pipeline', 'pipeline_seconds', seconds, 's', false, config),
    metric(
      'pipeline',
      'pipeline_recall_at_20',
      scored.recstream[20]!.recall,
      'ratio',
      true,
      { ...config, users_scored: scored.users, relevant: 'ground truth top 20' },
      { name: 'popularity_recall_at_20', value: scored.popularity[20]!.recall },
    ),
  ];
};
