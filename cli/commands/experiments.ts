/**
 * `recstream experiments start <file.json> | stop <id> | list | show <id>`:
 * A/B tests, canaries and shadow variants, by events on `rec.experiments`
 * (docs/experiments.md). An experiment that is refused (a bad file, an
 * unknown model version, an overlap with a running experiment, an unknown
 * id) prints `<field>: <reason>` and exits 2, like a bad option.
 */
import { readFile } from 'node:fs/promises';
import { withPlatform } from '../../app/platform.js';
import {
  ExperimentConflictError,
  ExperimentInvalidError,
  ExperimentNotFoundError,
} from '../../registry/experiments/errors.js';
import {
  readExperiment,
  startExperiment,
  stopExperiment,
} from '../../registry/experiments/experiment-actions.js';
import { ExperimentRegistry } from '../../registry/experiments/experiment-registry.js';
import type { Command } from '../command.js';
import { readOnlineFigures } from '../experiment-online.js';
import { figuresOf, renderExperiment, renderFigures, renderList } from '../experiment-tables.js';

/** Runs `work`; a refused experiment is printed naming its field, with exit status 2. */
export async function refusalsExit2(command: string, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (
      error instanceof ExperimentInvalidError ||
      error instanceof ExperimentConflictError ||
      error instanceof ExperimentNotFoundError
    ) {
      process.stderr.write(`recstream ${command}: ${error.message} [${error.code}]\n`);
      return 2;
    }
    throw error;
  }
}

function onePositional(command: string, what: string, positionals: readonly string[]): string | undefined {
  if (positionals.length === 1 && positionals[0] !== '') return positionals[0];
  process.stderr.write(`recstream ${command}: needs exactly one ${what}, got ${positionals.length}\n`);
  return undefined;
}

/** The experiment file's JSON, or a refusal naming `file`. */
async function readExperimentFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ExperimentInvalidError('file', `cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ExperimentInvalidError('file', `${path} is not JSON: ${(error as Error).message}`);
  }
}

export const experimentsStartCommand: Command = {
  name: 'experiments start',
  summary: 'start an A/B test, canary or shadow test from a JSON file (checked, then published)',
  usage: 'recstream experiments start <file.json>',
  options: {},
  run: async ({ config, positionals }) => {
    const path = onePositional('experiments start', 'experiment file', positionals);
    if (path === undefined) return 2;
    return refusalsExit2('experiments start', async () => {
      const json = await readExperimentFile(path);
      return withPlatform(
        config,
        async (platform) => {
          const { experiment, replaced } = await startExperiment(platform, json);
          const again = replaced === undefined ? '' : ` (replacing its ${replaced.status} run)`;
          process.stdout.write(`experiment ${experiment.id} running${again}\n`);
          process.stdout.write(renderExperiment(experiment));
          return 0;
        },
        { besideHolder: true },
      );
    });
  },
};

export const experimentsStopCommand: Command = {
  name: 'experiments stop',
  summary: 'stop a running experiment: its users go back to the promoted model',
  usage: 'recstream experiments stop <id> [--reason TEXT]',
  options: { reason: { type: 'string' } },
  run: async ({ config, positionals, values }) => {
    const id = onePositional('experiments stop', 'experiment id', positionals);
    if (id === undefined) return 2;
    return refusalsExit2('experiments stop', () =>
      withPlatform(
        config,
        async (platform) => {
          const stopped = await stopExperiment(platform, id, values.reason as string | undefined);
          process.stdout.write(`experiment ${stopped.id} stopped (${stopped.reason})\n`);
          return 0;
        },
        { besideHolder: true },
      ),
    );
  },
};

export const experimentsListCommand: Command = {
  name: 'experiments list',
  summary: 'experiments with status, variants, traffic slice (--json: the Experiment records)',
  usage: 'recstream experiments list [--json]',
  options: { json: { type: 'boolean' } },
  run: ({ config, values }) =>
    withPlatform(
      config,
      async ({ log, serde }) => {
        const experiments = (await ExperimentRegistry.load(log, serde)).all();
        process.stdout.write(
          values.json ? `${JSON.stringify(experiments, null, 2)}\n` : renderList(experiments),
        );
        return 0;
      },
      { readOnly: true },
    ),
};

export const experimentsShowCommand: Command = {
  name: 'experiments show',
  summary: "an experiment and each variant's online figures with intervals and the test's verdict",
  usage: 'recstream experiments show <id> [--json]',
  options: { json: { type: 'boolean' } },
  run: async ({ config, positionals, values }) => {
    const id = onePositional('experiments show', 'experiment id', positionals);
    if (id === undefined) return 2;
    return refusalsExit2('experiments show', async () => {
      const experiment = await withPlatform(config, (platform) => readExperiment(platform, id), {
        readOnly: true,
      });
      const { report, unavailable } = await readOnlineFigures(config, experiment);
      const figures = figuresOf(report);
      const holding = report?.canary_holding ?? null;
      if (values.json) {
        const more = {
          ...(holding === null ? {} : { holding }),
          ...(unavailable === undefined ? {} : { unavailable }),
        };
        process.stdout.write(`${JSON.stringify({ experiment, figures, ...more }, null, 2)}\n`);
        return 0;
      }
      const held = holding === null ? '' : `canary holding: ${holding}\n`;
      const note = unavailable === undefined ? '' : `${unavailable}\n`;
      process.stdout.write(
        `${renderExperiment(experiment)}\n${renderFigures(experiment, figures)}${held}${note}`,
      );
      return 0;
    });
  },
};
