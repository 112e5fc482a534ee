/**
 * `train` suite: the training engine's speed, and the time
 * from snapshots to the first promoted model.
 *
 * - `epoch_seconds` / `examples_per_s`: one epoch (retrieval two-tower and
 *   ranker) over `config.examples` training examples of a synthetic set in
 *   the engine's own format (`python3 -m recstream_models synth`), on
 *   `config.device` (RECSTREAM_DEVICE, auto: CUDA when present); the
 *   engine's per-step times are in `config.step_ms_*`. Median of the runs.
 * - `first_model_seconds`: simulate → process → snapshots, then one
 *   `recstream train` round with the default settings, timed from the
 *   start of the round to the published promoted version.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../runtime/config.js';
import { type EngineEvent, findPython, MODELS_DIR, runEngine } from '../../trainer/engine.js';
import { recstream } from '../recstream-cli.js';
import { median, metric, type Suite } from '../result.js';
import { timedTrainRound } from '../train-round.js';

/**
 * `examples` is what the synthetic set holds: the engine keeps the latest
 * 10 % by event time as its holdout, so the epoch trains on 200,000 and
 * 1,000,000 examples.
 */
const SIZES = {
  small: { examples: 222_223, users: 20_000, items: 5_000, runs: 3 },
  full: { examples: 1_111_112, users: 100_000, items: 20_000, runs: 3 },
};

function synthesize(python: string, out: string, size: (typeof SIZES)['small']): Promise<void> {
  const args = [
    '-m',
    'recstream_models',
    'synth',
    '--out',
    out,
    '--users',
    String(size.users),
    '--items',
    String(size.items),
    '--examples',
    String(size.examples),
    '--seed',
    '1',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, {
      env: { ...process.env, PYTHONPATH: MODELS_DIR },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`synth exited ${code}: ${stderr.slice(-2000)}`)),
    );
  });
}

async function firstModelSeconds(
  workDir: string,
): Promise<{ seconds: number; status: string; examples: string }> {
  const dataDir = join(workDir, 'pipeline');
  await recstream([
    'simulate',
    '--users',
    '2000',
    '--items',
    '500',
    '--events',
    '60000',
    '--days',
    '7',
    '--seed',
    '3',
    '--data-dir',
    dataDir,
  ]);
  for (const app of ['features', 'snapshots'])
    await recstream(['process', '--app', app, '--once', '--data-dir', dataDir]);
  const { model, seconds } = await timedTrainRound(dataDir);
  return { seconds, status: model.status, examples: model.params.examples ?? '?' };
}

export const trainSuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  const config = loadConfig(process.env);
  const { python, torch } = await findPython(config.python);
  const dataset = join(workDir, 'dataset');
  progress(`writing a synthetic training set of ${size.examples.toLocaleString()} examples`);
  await synthesize(python, dataset, size);
  const epochs: number[] = [];
  const rates: number[] = [];
  let steps: number[] = [];
  let device = 'cpu';
  let trainExamples = 0;
  for (let run = 0; run < size.runs; run++) {
    progress(`one epoch, run ${run + 1}/${size.runs}`);
    const stepMs: number[] = [];
    const result = await runEngine({
      python,
      dataset,
      out: join(workDir, `out-${run}`),
      config: { epochs: 1, ranker_epochs: 1, refit: false },
      device: config.device,
      onEvent: (event: EngineEvent) => {
        if (event.event === 'step' && typeof event.step_ms === 'number') stepMs.push(event.step_ms);
      },
    });
    device = String(result.start?.device ?? device);
    trainExamples = Number(result.start?.train_examples ?? 0);
    epochs.push(result.metrics.epoch_seconds!);
    rates.push(result.metrics.examples_per_s!);
    steps = stepMs;
  }
  progress('simulate → process → first promoted model');
  const first = await firstModelSeconds(workDir);
  const common = { examples: trainExamples, device, torch, runs: size.runs };
  const sorted = [...steps].sort((a, b) => a - b);
  return [
    metric('train', 'epoch_seconds', median(epochs), 's', false, {
      ...common,
      all: epochs,
      step_ms_median: sorted.length ? median(sorted) : null,
      step_ms_p90: sorted.length ? sorted[Math.floor(sorted.length * 0.9)] : null,
      target_seconds_per_1m_examples: 120,
    }),
    metric('train', 'examples_per_s', median(rates), 'examples/s', true, { ...common, all: rates }),
    metric('train', 'first_model_seconds', first.seconds, 's', false, {
      device,
      simulated_events: 60_000,
      training_examples: first.examples,
      status: first.status,
    }),
  ];
};
