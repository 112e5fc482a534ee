import type { Config } from '../../runtime/config.js';
import { TopologyError } from '../../runtime/errors.js';
import { avroSerializer } from '../../runtime/processor/avro-serdes.js';
import { replayAlone } from '../../runtime/processor/replay-alone.js';
import { requestReplay, runningPid } from '../../runtime/processor/replay-control.js';
import { formatReplayFrom, parseReplayFrom, type ReplayFrom } from '../../runtime/processor/reset.js';
import { APPLICATIONS, applicationNames } from '../../topologies/index.js';
import type { Command } from '../command.js';
import { controlDir, selectTopologies, withPlatform } from '../platform.js';
import { Progress } from '../progress.js';

export const replayCommand: Command = {
  name: 'replay',
  summary:
    'reset an application (wipe its stores and changelogs) and rebuild it from earliest, a time or an offset; beside a running `recstream process` it asks that process to do it',
  usage: 'recstream replay --processor APP|PROCESSOR|all [--from earliest|ISO-TIME|OFFSET]',
  options: { processor: { type: 'string' }, app: { type: 'string' }, from: { type: 'string' } },
  run: async ({ config, values }) => {
    const from = parseReplayFrom((values.from as string | undefined) ?? 'earliest');
    const apps = await resolveApplications(config, (values.processor ?? values.app) as string | undefined);
    const alone: string[] = [];
    for (const app of apps) {
      const dir = controlDir(config.dataDir, app);
      const pid = await runningPid(dir);
      if (pid === undefined) {
        alone.push(app);
        continue;
      }
      process.stderr.write(
        `${app}: running in process ${pid}; asking it to replay from ${formatReplayFrom(from)}\n`,
      );
      const progress = new Progress(`replay ${app}`, undefined);
      const status = await requestReplay(dir, from, (s) => {
        if (s.state === 'rebuilding') progress.update(s.done, { total: s.total });
      });
      progress.done({ total: status.total });
      if (status.state === 'failed') throw new TopologyError(`replay of ${app} failed: ${status.error}`);
      process.stdout.write(`${app}: replayed ${status.total} input records (beside process ${pid})\n`);
    }
    if (alone.length > 0) await replayHere(config, alone, from);
    return 0;
  },
};

async function replayHere(config: Config, apps: readonly string[], from: ReplayFrom): Promise<void> {
  await withPlatform(config, async (platform) => {
    const deadLetters = avroSerializer(await platform.serde.encoder('rec.dlq-value'));
    for (const topology of await selectTopologies(platform, apps.join(','))) {
      const app = topology.applicationId;
      let progress: Progress | undefined;
      const result = await replayAlone(
        {
          topology,
          log: platform.log,
          stateDir: platform.stateDir(app),
          engine: config.stateEngine,
          commitIntervalMs: config.commitIntervalMs,
          deadLetters,
          logger: platform.logger.child({ application: app }),
        },
        from,
        (done, total) => {
          progress ??= new Progress(`replay ${app}`, total);
          progress.update(done);
        },
      );
      progress?.done();
      process.stdout.write(
        `${app}: replayed ${result.records} input records from ${formatReplayFrom(from)} in ${result.seconds.toFixed(1)} s (${result.stats.processed} records processed, ${result.stats.deadLetters} dead letters)\n`,
      );
    }
  });
}

/**
 * `--processor` takes an application id, `all`, or the name of a processor,
 * which stands for its whole application: the processors of an application
 * share tasks and commit their stores together, so they are reset together.
 */
export async function resolveApplications(config: Config, name: string | undefined): Promise<string[]> {
  if (name === undefined)
    throw new TopologyError(
      `--processor is required: an application (${applicationNames().join(', ')}), a processor, or all`,
    );
  if (name === 'all') return applicationNames();
  const out = new Set<string>();
  const unknown: string[] = [];
  const named = name.split(',');
  const processors = named.filter((n) => APPLICATIONS[n] === undefined);
  for (const n of named) if (APPLICATIONS[n] !== undefined) out.add(n);
  if (processors.length > 0) {
    await withPlatform(
      config,
      async (platform) => {
        const topologies = await selectTopologies(platform, 'all');
        for (const p of processors) {
          const owner = topologies.find((t) => t.processors.some((node) => node.name === p));
          if (owner) out.add(owner.applicationId);
          else unknown.push(p);
        }
      },
      { readOnly: true },
    );
  }
  if (unknown.length > 0)
    throw new TopologyError(
      `unknown processor or application ${unknown.map((u) => JSON.stringify(u)).join(', ')}; applications: ${applicationNames().join(', ')} (recstream describe lists the processors)`,
    );
  return [...out];
}
