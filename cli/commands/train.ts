import { describeTrainOutcome } from '../../app/outcomes.js';
import { withPlatform } from '../../app/platform.js';
import { offPolicyStepRunner } from '../../evaluation/off-policy/gate-step.js';
import { artifactStore } from '../../registry/model-store.js';
import type { Platform } from '../../runtime/platform.js';
import type { EngineEvent } from '../../trainer/engine.js';
import { followRounds } from '../../trainer/follow.js';
import { Trainer, type TrainOutcome } from '../../trainer/trainer.js';
import type { Command, CommandArgs } from '../command.js';
import { serveMetrics } from '../metrics-server.js';
import { wholeNumberOption } from '../option-values.js';
import { Progress } from '../progress.js';

/** Draws engine progress: one progress line per model and epoch on a TTY, JSON lines otherwise. */
export function engineProgress(): (event: EngineEvent) => void {
  let bar: Progress | undefined;
  let label = '';
  return (event) => {
    if (event.event === 'step' && typeof event.steps === 'number' && typeof event.step === 'number') {
      const next = `train ${String(event.model)} epoch ${String(event.epoch)}`;
      if (next !== label) {
        bar?.done();
        label = next;
        bar = new Progress(label, event.steps);
      }
      bar!.update(event.step, { loss: Number(event.loss).toFixed(4) });
    } else if (event.event === 'epoch' || event.event === 'metrics' || event.event === 'done') {
      bar?.done();
      bar = undefined;
      label = '';
    }
  };
}

/** `--poll-ms`, default 2 s. */
export function pollMs(values: CommandArgs['values']): number {
  return wholeNumberOption(values['poll-ms'], '--poll-ms', 2000);
}

/** Runs a long-running role until SIGTERM or SIGINT, with /metrics on `--metrics-port` when given. */
export async function untilStopped(
  platform: Platform,
  values: CommandArgs['values'],
  run: (signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const server =
    values['metrics-port'] === undefined
      ? undefined
      : await serveMetrics(platform.metrics, Number(values['metrics-port']), platform.config.httpHost);
  try {
    await run(controller.signal);
  } finally {
    await server?.close();
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

export const trainCommand: Command = {
  name: 'train',
  summary:
    'train models from training snapshots and publish ModelVersion events (--once: one round, then exit)',
  usage: 'recstream train [--once [--force]] [--json] [--poll-ms MS] [--metrics-port PORT]',
  options: {
    once: { type: 'boolean' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    'poll-ms': { type: 'string' },
    'metrics-port': { type: 'string' },
  },
  run: ({ config, values }) =>
    withPlatform(config, async (platform) => {
      const gatherBar = new Progress('gather training set', undefined);
      const trainer = (signal?: AbortSignal) =>
        new Trainer({
          platform,
          store: artifactStore(config.dataDir),
          onEngineEvent: engineProgress(),
          onGather: (read) => gatherBar.update(read),
          offPolicyStep: offPolicyStepRunner(platform, { store: artifactStore(config.dataDir) }),
          signal,
        });
      const report = (outcome: TrainOutcome) => {
        if (values.json) process.stdout.write(`${JSON.stringify(outcome)}\n`);
        else process.stdout.write(`${describeTrainOutcome(outcome)}\n`);
      };
      if (values.once) {
        report(await trainer().trainOnce({ force: values.force === true }));
        return 0;
      }
      await untilStopped(platform, values, (signal) => {
        const following = trainer(signal);
        return followRounds(() => following.trainOnce(), {
          pollMs: pollMs(values),
          signal,
          logger: platform.logger,
          describe: describeTrainOutcome,
          onOutcome: report,
        });
      });
      return 0;
    }),
};
