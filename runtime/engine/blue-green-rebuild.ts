/**
 * The blue/green rebuild of applications, whoever asks for it (`recstream
 * rebuild --blue-green`, an admin API): each application is rebuilt from
 * earliest into a new state namespace while its current one keeps serving,
 * then the active namespace swaps and the old state dir is deleted
 * (internals/blue-green.ts). Beside a running `recstream process` that
 * process builds and swaps (a request file, as for a replay); alone, the
 * caller does. With an online store of its own (Redis) the online copy
 * follows: the active changelogs are materialized into a new namespace,
 * which is activated before the old one is dropped. Last, when nothing
 * reads them any more, the old namespaces' changelogs and internal topics
 * are deleted.
 *
 * @example
 * ```ts
 * await rebuildBlueGreen(['features'], undefined, {
 *   controlDir: (app) => join(dataDir, 'control', app),
 *   withPlatform: (fn, options) => withPlatform(config, fn, options),
 *   topology: async (platform, app) => (await selectTopologies(platform, app))[0]!,
 *   runnerOptions,
 *   report: { progress: (label, total) => new Progress(label, total), info: console.log, warn: console.error },
 * });
 * ```
 */
import { access, rm } from 'node:fs/promises';
import { ConfigError, TopologyError } from '../errors.js';
import type { Platform } from '../platform.js';
import type { Topology } from '../processor/topology.js';
import { readActiveNamespace, writeActiveNamespace } from './active-namespace.js';
import { type FollowedOnlineStore, followInOnlineStore } from './blue-green-online.js';
import { blueGreenAlone, deleteNamespaceTopics } from './internals/blue-green.js';
import {
  checkNamespace,
  generateNamespace,
  namespacedStateDir,
  namespaceTopics,
  optionsInNamespace,
} from './namespace.js';
import {
  runningPid,
  sendBlueGreenRequest,
  sendDeleteTopicsRequest,
  waitForReplay,
} from './replay-control.js';
import type { RunnerOptions } from './runner.js';

/** A progress display of one step: updated with records done, closed once. */
export interface ProgressSink {
  update(done: number, extra?: Record<string, string | number>): void;
  done(extra?: Record<string, string | number>): void;
}

/** Where the rebuild tells its caller how it goes. */
export interface BlueGreenReport {
  /** A progress display for the step `label`, out of `total` records. */
  progress(label: string, total: number): ProgressSink;
  /** A result line (a swap done, topics deleted). */
  info(line: string): void;
  /** A line about how it is done, or a failure that does not undo the swap. */
  warn(line: string): void;
}

/** What the rebuild needs from its caller. */
export interface BlueGreenHost {
  /** Where a running application and its operators exchange requests, and its active namespace is kept. */
  controlDir(app: string): string;
  /** Runs `fn` on the platform opened for it (read-only beside a running process), closing it after. */
  withPlatform<T>(fn: (platform: Platform) => Promise<T>, options?: { readOnly?: boolean }): Promise<T>;
  /** The application's topology, in the default namespace. */
  topology(platform: Platform, app: string): Promise<Topology>;
  /** The runner options of `topology` on `platform`. */
  runnerOptions(platform: Platform, topology: Topology): Promise<RunnerOptions>;
  /** Present when the online store has namespaces of its own to follow the swap. */
  readonly online?: FollowedOnlineStore;
  readonly report: BlueGreenReport;
}

/** Rebuilds `apps` (writers first) blue/green into `requested` or a generated namespace. */
export async function rebuildBlueGreen(
  apps: readonly string[],
  requested: string | undefined,
  host: BlueGreenHost,
): Promise<void> {
  const namespace = requested === undefined ? generateNamespace() : checkNamespace(requested);
  const retired: { app: string; namespace: string | undefined }[] = [];
  for (const app of apps) {
    const dir = host.controlDir(app);
    const current = await readActiveNamespace(dir);
    if (current === namespace)
      throw new ConfigError(`--namespace ${namespace} is the active namespace of ${app}; name a new one`);
    const pid = await runningPid(dir);
    await host.withPlatform((platform) => refuseDropped(platform, host, app, namespace), {
      readOnly: pid !== undefined,
    });
    const rebuilt =
      pid === undefined
        ? await alone(host, app, current, namespace)
        : await beside(host, app, pid, namespace);
    host.report.info(
      `${app}: ${rebuilt}; active namespace ${namespace} (was ${current ?? 'default'}); old state dir dropped`,
    );
    retired.push({ app, namespace: current });
  }
  const online = host.online;
  if (online !== undefined)
    await host.withPlatform((platform) => followInOnlineStore(platform, online, namespace, host.report), {
      readOnly: true,
    });
  // Only now does nothing read the old namespaces: the online store has moved on as well.
  for (const { app, namespace: old } of retired) await deleteRetiredTopics(host, app, old);
}

/**
 * Deletes the topics of an application's retired namespace: here when no
 * process runs the application, else by that process, which owns the log.
 * A failure is reported, not fatal: the swap is done, and topics left
 * behind are only disk (the runbook says how to delete them).
 */
async function deleteRetiredTopics(
  host: BlueGreenHost,
  app: string,
  namespace: string | undefined,
): Promise<void> {
  const name = namespace ?? 'default';
  const dir = host.controlDir(app);
  try {
    const pid = await runningPid(dir);
    let deleted: readonly string[];
    if (pid === undefined) {
      deleted = await host.withPlatform(async (platform) =>
        deleteNamespaceTopics(platform.log, await host.topology(platform, app), namespace),
      );
    } else {
      const status = await waitForReplay(dir, await sendDeleteTopicsRequest(dir, namespace));
      if (status.state === 'failed') throw new TopologyError(status.error ?? 'failed');
      deleted = status.deletedTopics ?? [];
    }
    host.report.info(`${app}: deleted the topics of namespace ${name}: ${deleted.join(', ') || 'none'}`);
  } catch (error) {
    host.report.warn(
      `${app}: could not delete the topics of namespace ${name} (${(error as Error).message}); they stay in the log, unread (docs/runbooks.md, blue/green rebuild)`,
    );
  }
}

/**
 * A namespace whose state dir is gone but whose topics are still in the log
 * was dropped earlier and its topics could not be deleted: building into it
 * would restore that old state instead of starting from earliest. A state
 * dir that exists is an interrupted build, which resumes.
 */
async function refuseDropped(
  platform: Platform,
  host: BlueGreenHost,
  app: string,
  namespace: string,
): Promise<void> {
  const topology = await host.topology(platform, app);
  const dir = namespacedStateDir(platform.stateDir(app), namespace);
  if (await exists(dir)) return;
  for (const topic of namespaceTopics(topology, namespace))
    if (await platform.log.describeTopic(topic))
      throw new ConfigError(
        `namespace ${namespace} of ${app} was used before (topic ${topic} exists, its state dir does not); name a new namespace`,
      );
}

async function alone(
  host: BlueGreenHost,
  app: string,
  current: string | undefined,
  namespace: string,
): Promise<string> {
  return host.withPlatform(async (platform) => {
    const started = Date.now();
    const base = await host.runnerOptions(platform, await host.topology(platform, app));
    const blue = optionsInNamespace(base, current);
    let progress: ProgressSink | undefined;
    await blueGreenAlone(blue, optionsInNamespace(base, namespace), (done, total) => {
      progress ??= host.report.progress(`rebuild ${app} → ${namespace}`, total);
      progress.update(done);
    });
    progress?.done();
    await writeActiveNamespace(host.controlDir(app), namespace);
    await rm(blue.stateDir, { recursive: true, force: true });
    return `rebuilt into namespace ${namespace} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  });
}

async function beside(host: BlueGreenHost, app: string, pid: number, namespace: string): Promise<string> {
  const dir = host.controlDir(app);
  host.report.warn(
    `${app}: running in process ${pid}; asking it to rebuild blue/green into namespace ${namespace}`,
  );
  const id = await sendBlueGreenRequest(dir, namespace);
  let progress: ProgressSink | undefined;
  const status = await waitForReplay(dir, id, (s) => {
    if (s.state !== 'rebuilding') return;
    progress ??= host.report.progress(`rebuild ${app} → ${namespace}`, s.total);
    progress.update(s.done);
  });
  progress?.update(status.total);
  progress?.done();
  if (status.state === 'failed')
    throw new TopologyError(`blue/green rebuild of ${app} failed: ${status.error}`);
  return `rebuilt ${status.total} input records into namespace ${namespace} beside process ${pid}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
