import { withPlatform } from '../../app/platform.js';
import { ModelRegistryError } from '../../registry/errors.js';
import { startCanary } from '../../registry/experiments/canary.js';
import { ModelRegistry } from '../../registry/model-registry.js';
import { artifactStore } from '../../registry/model-store.js';
import { promoteModel } from '../../registry/promote.js';
import { rankerUse } from '../../registry/ranker-use.js';
import { rollbackModel } from '../../registry/rollback.js';
import type { ModelVersion } from '../../schemas/generated/types.js';
import type { Command } from '../command.js';
import { renderExperiment } from '../experiment-tables.js';
import { percentOption } from '../option-values.js';
import { refusalsExit2 } from './experiments.js';

function row(v: ModelVersion, promoted: number | undefined): string {
  const recall = v.metrics.recall_at_20;
  const pop = v.metrics.popularity_recall_at_20;
  const mark = v.version === promoted ? '*' : ' ';
  return [
    `${mark} v${String(v.version).padEnd(4)}`,
    v.status.padEnd(11),
    `recall@20 ${recall === undefined ? '-' : recall.toFixed(4)}`.padEnd(17),
    `popularity ${pop === undefined ? '-' : pop.toFixed(4)}`.padEnd(18),
    `${v.params.examples ?? '?'} examples`.padEnd(16),
    `${v.lineage.length} ranges`.padEnd(10),
    `ranker ${rankerUse(v.metrics).serves ? 'on ' : 'off'}`,
    `${v.device.padEnd(4)} ${new Date(v.created_ts).toISOString()}`,
    v.reason ?? '',
  ].join(' ');
}

export const modelsListCommand: Command = {
  name: 'models list',
  summary:
    'model versions with status, metrics, lineage and whether their ranker serves (--json: the ModelVersion records, each with `ranker`: serves and why)',
  usage: 'recstream models list [--model NAME] [--json]',
  options: { model: { type: 'string' }, json: { type: 'boolean' } },
  run: ({ config, values }) =>
    withPlatform(
      config,
      async ({ log, serde }) => {
        const registry = await ModelRegistry.load(log, serde);
        const models = values.model ? [values.model as string] : registry.models();
        const versions = models.flatMap((m) => registry.versions(m));
        if (values.json) {
          const records = versions.map((v) => ({ ...v, ranker: rankerUse(v.metrics) }));
          process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
          return 0;
        }
        if (versions.length === 0) process.stdout.write('no model versions yet (run `recstream train`)\n');
        for (const model of models) {
          process.stdout.write(`${model} (* = promoted)\n`);
          const promoted = registry.promoted(model)?.version;
          for (const v of registry.versions(model)) process.stdout.write(`${row(v, promoted)}\n`);
        }
        return 0;
      },
      { readOnly: true },
    ),
};

/** Promotions and rollbacks are events: beside a running `demo`, `up` or `serve`, that process appends them. */
const BESIDE_A_RUNNING_PROCESS = { besideHolder: true } as const;

export const modelsPromoteCommand: Command = {
  name: 'models promote',
  summary:
    'promote a model version (publishes a ModelVersion event; its artifacts must verify); --canary PCT starts a canary of a candidate version instead',
  usage: 'recstream models promote <version> [--canary PCT] [--model NAME] [--reason TEXT]',
  options: { model: { type: 'string' }, reason: { type: 'string' }, canary: { type: 'string' } },
  run: ({ config, values, positionals }) =>
    withPlatform(
      config,
      async (platform) => {
        const model = (values.model as string | undefined) ?? config.modelName;
        const version = Number(positionals[0]);
        if (!Number.isInteger(version) || version < 1)
          throw new ModelRegistryError(
            `models promote needs a version number, got ${JSON.stringify(positionals[0])}`,
          );
        const canary = percentOption(values.canary, '--canary');
        if (canary !== undefined) {
          // A canary is an experiment: refused like one, naming the field, with exit status 2.
          return refusalsExit2('models promote', async () => {
            const { experiment } = await startCanary(platform, artifactStore(config.dataDir), {
              version,
              model,
              share: canary,
              reason:
                (values.reason as string | undefined) ??
                `started by models promote --canary ${values.canary}`,
            });
            process.stdout.write(
              `${model} v${version}: canary ${experiment.id} started (recstream experiments show ${experiment.id})\n`,
            );
            process.stdout.write(renderExperiment(experiment));
            return 0;
          });
        }
        const result = await promoteModel(platform, artifactStore(config.dataDir), {
          version,
          model,
          reason: values.reason as string | undefined,
        });
        if (result.alreadyPromoted) {
          process.stdout.write(`${model} v${version} is already promoted\n`);
          return 0;
        }
        process.stdout.write(`${model} v${version} promoted\n`);
        return 0;
      },
      BESIDE_A_RUNNING_PROCESS,
    ),
};

export const modelsRollbackCommand: Command = {
  name: 'models rollback',
  summary: 'roll the promoted model version back to the one promoted before it (by events)',
  usage: 'recstream models rollback [--model NAME] [--reason TEXT]',
  options: { model: { type: 'string' }, reason: { type: 'string' } },
  run: ({ config, values }) =>
    withPlatform(
      config,
      async (platform) => {
        const { model, rolledBack, promoted } = await rollbackModel(platform, artifactStore(config.dataDir), {
          model: values.model as string | undefined,
          reason: values.reason as string | undefined,
        });
        process.stdout.write(`${model}: v${rolledBack.version} rolled back, v${promoted.version} promoted\n`);
        return 0;
      },
      BESIDE_A_RUNNING_PROCESS,
    ),
};
