/**
 * `recstream rebuild --blue-green`: each application is rebuilt from
 * earliest into a new state namespace while its current one keeps serving,
 * then the active namespace swaps and the old state dir is deleted
 * (runtime/processor/internals/blue-green.ts). Beside a running `recstream process`
 * that process builds and swaps (a request file, as for a replay); alone,
 * this command does. With Redis configured the online copy follows: the
 * active changelogs are materialized into a new Redis namespace, which is
 * activated before the old one is dropped. Last, when nothing reads them
 * any more, the old namespaces' changelogs and internal topics are deleted.
 */
import { access, rm } from 'node:fs/promises';
import type { Config } from '../../runtime/config.js';
import { ConfigError, TopologyError } from '../../runtime/errors.js';
import { type MaterializedSource, Materializer } from '../../runtime/online/materializer.js';
import type { Platform } from '../../runtime/platform.js';
import { readActiveNamespace, writeActiveNamespace } from '../../runtime/processor/active-namespace.js';
import { blueGreenAlone, deleteNamespaceTopics } from '../../runtime/processor/internals/blue-green.js';
import {
  checkNamespace,
  generateNamespace,
  namespacedStateDir,
  namespaceTopics,
  optionsInNamespace,
} from '../../runtime/processor/namespace.js';
import {
  runningPid,
  sendBlueGreenRequest,
  sendDeleteTopicsRequest,
  waitForReplay,
} from '../../runtime/processor/replay-control.js';
import { onlineViews } from '../../topologies/online-views.js';
import { withRedisOnlineStore } from '../online.js';
import { activeNamespaceOf, controlDir, runnerOptions, selectTopologies, withPlatform } from '../platform.js';
import { Progress } from '../progress.js';

/** Rebuilds `apps` (writers first) blue/green into `requested` or a generated namespace. */
export async function rebuildBlueGreen(
  config: Config,
  apps: readonly string[],
  requested: string | undefined,
): Promise<number> {
  const namespace = requested === undefined ? generateNamespace() : checkNamespace(requested);
  const retired: { app: string; namespace: string | undefined }[] = [];
  for (const app of apps) {
    const dir = controlDir(config.dataDir, app);
    const current = await readActiveNamespace(dir);
    if (current === namespace)
      throw new ConfigError(`--namespace ${namespace} is the active namespace of ${app}; name a new one`);
    const pid = await runningPid(dir);
    await withPlatform(config, (platform) => refuseDropped(platform, app, namespace), {
      readOnly: pid !== undefined,
    });
    const rebuilt =
      pid === undefined
        ? await alone(config, app, current, namespace)
        : await beside(config, app, pid, namespace);
    process.stdout.write(
      `${app}: ${rebuilt}; active namespace ${namespace} (was ${current ?? 'default'}); old state dir dropped\n`,
    );
    retired.push({ app, namespace: current });
  }
  if (config.redisUrl !== undefined) await followInRedis(config, namespace);
  // Only now does nothing read the old namespaces: the online store has moved on as well.
  for (const { app, namespace: old } of retired) await deleteRetiredTopics(config, app, old);
  return 0;
}

/**
 * Deletes the topics of an application's retired namespace: here when no
 * process runs the application, else by that process, which owns the log.
 * A failure is reported, not fatal: the swap is done, and topics left
 * behind are only disk (the runbook says how to delete them).
 */
async function deleteRetiredTopics(
  config: Config,
  app: string,
  namespace: string | undefined,
): Promise<void> {
  const name = namespace ?? 'default';
  const dir = controlDir(config.dataDir, app);
  try {
    const pid = await runningPid(dir);
    let deleted: readonly string[];
    if (pid === undefined) {
      deleted = await withPlatform(config, async (platform) => {
        const [topology] = await selectTopologies(platform, app);
        return deleteNamespaceTopics(platform.log, topology!, namespace);
      });
    } else {
      const status = await waitForReplay(dir, await sendDeleteTopicsRequest(dir, namespace));
      if (status.state === 'failed') throw new TopologyError(status.error ?? 'failed');
      deleted = status.deletedTopics ?? [];
    }
    process.stdout.write(
      `${app}: deleted the topics of namespace ${name}: ${deleted.join(', ') || 'none'}\n`,
    );
  } catch (error) {
    process.stderr.write(
      `${app}: could not delete the topics of namespace ${name} (${(error as Error).message}); they stay in the log, unread (docs/runbooks.md, blue/green rebuild)\n`,
    );
  }
}

/**
 * A namespace whose state dir is gone but whose topics are still in the log
 * was dropped earlier and its topics could not be deleted: building into it
 * would restore that old state instead of starting from earliest. A state
 * dir that exists is an interrupted build, which resumes.
 */
async function refuseDropped(platform: Platform, app: string, namespace: string): Promise<void> {
  const [topology] = await selectTopologies(platform, app);
  const dir = namespacedStateDir(platform.stateDir(app), namespace);
  if (await exists(dir)) return;
  for (const topic of namespaceTopics(topology!, namespace))
    if (await platform.log.describeTopic(topic))
      throw new ConfigError(
        `namespace ${namespace} of ${app} was used before (topic ${topic} exists, its state dir does not); name a new namespace`,
      );
}

async function alone(
  config: Config,
  app: string,
  current: string | undefined,
  namespace: string,
): Promise<string> {
  return withPlatform(config, async (platform) => {
    const started = Date.now();
    const [topology] = await selectTopologies(platform, app);
    const base = await runnerOptions(platform, topology!);
    const blue = optionsInNamespace(base, current);
    let progress: Progress | undefined;
    await blueGreenAlone(blue, optionsInNamespace(base, namespace), (done, total) => {
      progress ??= new Progress(`rebuild ${app} → ${namespace}`, total);
      progress.update(done);
    });
    progress?.done();
    await writeActiveNamespace(controlDir(config.dataDir, app), namespace);
    await rm(blue.stateDir, { recursive: true, force: true });
    return `rebuilt into namespace ${namespace} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  });
}

async function beside(config: Config, app: string, pid: number, namespace: string): Promise<string> {
  const dir = controlDir(config.dataDir, app);
  process.stderr.write(
    `${app}: running in process ${pid}; asking it to rebuild blue/green into namespace ${namespace}\n`,
  );
  const id = await sendBlueGreenRequest(dir, namespace);
  let progress: Progress | undefined;
  const status = await waitForReplay(dir, id, (s) => {
    if (s.state !== 'rebuilding') return;
    progress ??= new Progress(`rebuild ${app} → ${namespace}`, s.total);
    progress.update(s.done);
  });
  progress?.update(status.total);
  progress?.done();
  if (status.state === 'failed')
    throw new TopologyError(`blue/green rebuild of ${app} failed: ${status.error}`);
  return `rebuilt ${status.total} input records into namespace ${namespace} beside process ${pid}`;
}

/**
 * The Redis copy of the online store follows the swap: every view is
 * materialized from its application's active changelogs into a new Redis
 * namespace (named like the state namespace), which is then activated, and
 * the old one dropped. Readers keep the old namespace until the activation.
 */
async function followInRedis(config: Config, namespace: string): Promise<void> {
  await withPlatform(
    config,
    async (platform) => {
      const resolved = await onlineViews(platform.serde, {
        skipNotRun: true,
        namespaceOf: activeNamespaceOf(config.dataDir),
      });
      const sources: MaterializedSource[] = [];
      for (const source of resolved.sources)
        if (await platform.log.describeTopic(source.topic)) sources.push(source);
      await withRedisOnlineStore(config, resolved.views, async (store) => {
        const old = await store.activeNamespace();
        if (old === namespace)
          throw new ConfigError(`Redis namespace ${namespace} is already active; name a new namespace`);
        let progress: Progress | undefined;
        const materializer = await Materializer.start({
          log: platform.log,
          store,
          namespace,
          sources,
          from: 'earliest',
          logger: platform.logger,
          onBatch: (s) => progress?.update(s.records),
        });
        progress = new Progress(`materialize ${namespace}`, await materializer.lag());
        let stats: Awaited<ReturnType<Materializer['runUntilCaughtUp']>>;
        try {
          stats = await materializer.runUntilCaughtUp();
        } finally {
          await materializer.close();
        }
        progress.done({ applied: stats.applied });
        await store.activate(namespace);
        if (old !== undefined) await store.drop(old);
        process.stdout.write(
          `online store (Redis): namespace ${namespace} materialized (${stats.applied} values) and active${old === undefined ? '' : `; ${old} dropped`}\n`,
        );
      });
    },
    { readOnly: true },
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
