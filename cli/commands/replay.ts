import {
  activeRunnerOptions,
  activeTopology,
  controlDir,
  selectTopologies,
  withPlatform,
} from '../../app/platform.js';
import type { Config } from '../../runtime/config.js';
import {
  formatReplayFrom,
  parseReplayFrom,
  type ReplayFrom,
  replayAlone,
  replayOrder,
  rewrittenTopics,
} from '../../runtime/engine/operations.js';
import { runningPid, sendReplayRequest, waitForReplay } from '../../runtime/engine/replay-control.js';
import { ConfigError, SchemaNotFoundError, TopologyError } from '../../runtime/errors.js';
import type { Platform } from '../../runtime/platform.js';
import type { Topology } from '../../runtime/processor/topology.js';
import { applicationNames } from '../../topologies/index.js';
import type { Command } from '../command.js';
import { Progress } from '../progress.js';
import { rebuildBlueGreen } from './rebuild-blue-green.js';

export const replayCommand: Command = {
  name: 'replay',
  summary:
    'reset applications (wipe their stores through the changelogs) and rebuild them from earliest, a time or an offset; beside a running `recstream process` that process does it without stopping',
  usage: 'recstream replay --processor APP|PROCESSOR|all [--from earliest|ISO-TIME|OFFSET]',
  options: { processor: { type: 'string' }, app: { type: 'string' }, from: { type: 'string' } },
  run: ({ config, values }) =>
    replay(
      config,
      parseReplayFrom((values.from as string | undefined) ?? 'earliest'),
      (values.processor ?? values.app) as string | undefined,
    ),
};

/**
 * `recstream rebuild`: every store of the applications from earliest, in
 * place (a replay from earliest), or with `--blue-green` into a new state
 * namespace while the current one keeps serving (rebuild-blue-green.ts).
 */
export const rebuildCommand: Command = {
  name: 'rebuild',
  summary:
    "rebuild applications' stores from earliest: in place (recstream replay --from earliest), or --blue-green into a new state namespace while the current one serves, then swap and drop the old; beside a running `recstream process` that process does it",
  usage: 'recstream rebuild --processor APP|PROCESSOR|all [--blue-green [--namespace NAME]]',
  options: {
    processor: { type: 'string' },
    app: { type: 'string' },
    'blue-green': { type: 'boolean' },
    namespace: { type: 'string' },
  },
  run: async ({ config, values }) => {
    const name = (values.processor ?? values.app) as string | undefined;
    if (!values['blue-green']) {
      if (values.namespace !== undefined)
        throw new ConfigError(
          '--namespace names the green namespace of a --blue-green rebuild; add --blue-green',
        );
      return replay(config, { kind: 'earliest' }, name);
    }
    const apps = replayOrder(await chooseApplications(config, name)).map((t) => t.applicationId);
    return rebuildBlueGreen(config, apps, values.namespace as string | undefined);
  },
};

async function replay(config: Config, from: ReplayFrom, name: string | undefined): Promise<number> {
  const chosen = await chooseApplications(config, name);
  const rewritten = rewrittenTopics(chosen);
  const beside: { app: string; pid: number; id: string }[] = [];
  const alone: string[] = [];
  // Every running application is asked first, so each resets before any upstream one re-emits.
  for (const topology of replayOrder(chosen)) {
    const app = topology.applicationId;
    const pid = await runningPid(controlDir(config.dataDir, app));
    if (pid === undefined) {
      alone.push(app);
      continue;
    }
    process.stderr.write(
      `${app}: running in process ${pid}; asking it to replay from ${formatReplayFrom(from)}\n`,
    );
    beside.push({
      app,
      pid,
      id: await sendReplayRequest(controlDir(config.dataDir, app), from, rewritten),
    });
  }
  for (const { app, pid, id } of beside) {
    let progress: Progress | undefined;
    const status = await waitForReplay(controlDir(config.dataDir, app), id, (s) => {
      if (s.state !== 'rebuilding') return;
      // The total is known once the running process has reset the tasks.
      progress ??= new Progress(`replay ${app}`, s.total);
      progress.update(s.done);
    });
    progress?.update(status.total);
    progress?.done();
    if (status.state === 'failed') throw new TopologyError(`replay of ${app} failed: ${status.error}`);
    process.stdout.write(`${app}: replayed ${status.total} input records (beside process ${pid})\n`);
  }
  if (alone.length > 0) await replayHere(config, alone, from, rewritten);
  return 0;
}

async function replayHere(
  config: Config,
  apps: readonly string[],
  from: ReplayFrom,
  rewritten: ReadonlySet<string>,
): Promise<void> {
  await withPlatform(config, async (platform) => {
    const topologies = await selectTopologies(platform, apps.join(','));
    let progress: Progress | undefined;
    const results = await replayAlone(
      await Promise.all(topologies.map((topology) => activeRunnerOptions(platform, topology))),
      from,
      (done, total) => {
        progress ??= new Progress(`replay ${apps.join(',')}`, total);
        progress.update(done);
      },
      rewritten,
    );
    progress?.done();
    for (const r of results)
      process.stdout.write(
        `${r.applicationId}: replayed ${r.records} input records from ${formatReplayFrom(from)} in ${r.seconds.toFixed(1)} s (${r.stats.processed} records processed, ${r.stats.deadLetters} dead letters)\n`,
      );
  });
}

/**
 * The applications `--processor` names, each as it runs in its active state
 * namespace. Beside a running process the log may be locked by it: look
 * read-only, and let that process do the work.
 */
async function chooseApplications(config: Config, name: string | undefined): Promise<Topology[]> {
  let anyRunning = false;
  for (const app of applicationNames())
    if ((await runningPid(controlDir(config.dataDir, app))) !== undefined) anyRunning = true;
  return withPlatform(
    config,
    async (platform) => resolveApplications(await buildAll(platform, name === 'all', name), name),
    { readOnly: anyRunning },
  );
}

/**
 * Every application's topology, in its active state namespace. For `all`, one that never ran here (no
 * changelog topic yet, or its schemas never registered) is left out, as in
 * `recstream state digest`: there is nothing of it to replay. For one name,
 * an application other than `name` whose schemas were never registered is
 * left out too (beside a running process the registry is read-only).
 */
async function buildAll(platform: Platform, skipNeverRan: boolean, name?: string): Promise<Topology[]> {
  const out: Topology[] = [];
  for (const app of applicationNames()) {
    let topology: Topology;
    try {
      topology = (await selectTopologies(platform, app))[0]!;
    } catch (error) {
      // An application whose schemas were never registered never ran: nothing of it to replay,
      // and unless it is the one named, it only has to be known by name.
      if (error instanceof SchemaNotFoundError && (skipNeverRan || app !== name)) continue;
      throw error;
    }
    const active = await activeTopology(platform.config.dataDir, topology);
    if (skipNeverRan && !(await hasRun(platform, active))) continue;
    out.push(active);
  }
  return out;
}

async function hasRun(platform: Platform, topology: Topology): Promise<boolean> {
  for (const store of topology.stores)
    if (await platform.log.describeTopic(store.changelogTopic)) return true;
  return false;
}

/**
 * `--processor` takes an application id, `all`, or the name of a processor,
 * which stands for its whole application: the processors of an application
 * share tasks and commit their stores together, so they are reset together.
 */
export function resolveApplications(topologies: readonly Topology[], name: string | undefined): Topology[] {
  if (name === undefined)
    throw new TopologyError(
      `--processor is required: an application (${applicationNames().join(', ')}), a processor, or all`,
    );
  if (name === 'all') return [...topologies];
  const out = new Set<Topology>();
  const unknown: string[] = [];
  for (const n of name.split(',')) {
    const owner =
      topologies.find((t) => t.applicationId === n) ??
      topologies.find((t) => t.processors.some((node) => node.name === n));
    if (owner) out.add(owner);
    else unknown.push(n);
  }
  if (unknown.length > 0)
    throw new TopologyError(
      `unknown processor or application ${unknown.map((u) => JSON.stringify(u)).join(', ')}; applications: ${applicationNames().join(', ')} (recstream describe lists the processors)`,
    );
  return [...out];
}
