/**
 * Opens the configured platform for one command and always closes it, so
 * every command releases the log's lock file even when it fails. Commands
 * that only look open it read-only, so they work beside a running
 * `recstream process` or `recstream demo`; commands that append a few
 * events hand them to such a process (`besideHolder`). On a terminal the
 * JSON log goes to `<data-dir>/logs/recstream.log`, warnings and errors
 * still to stderr.
 */
import { join } from 'node:path';
import type { Config } from '../runtime/config.js';
import { readActiveNamespace } from '../runtime/engine/active-namespace.js';
import { namespacedTopology, optionsInNamespace } from '../runtime/engine/namespace.js';
import type { RunnerOptions } from '../runtime/engine/runner.js';
import { TopologyError } from '../runtime/errors.js';
import { createLogger } from '../runtime/observability/logger.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import type { Topology } from '../runtime/processor/topology.js';
import { openPlatform, type Platform, type PlatformOptions } from '../schemas/platform.js';
import { PLATFORM_TOPICS } from '../schemas/topics.js';
import { simulationTopics } from '../sim/log-writer.js';
import { APPLICATIONS, applicationNames } from '../topologies/index.js';

export async function withPlatform<T>(
  config: Config,
  fn: (platform: Platform) => Promise<T>,
  options: Pick<PlatformOptions, 'readOnly' | 'besideHolder'> = {},
): Promise<T> {
  // On a terminal a person reads progress lines: the info log goes to a file in the data dir.
  const logger = process.stderr.isTTY
    ? createLogger({ level: config.logLevel, file: join(config.dataDir, 'logs', 'recstream.log') })
    : undefined;
  const platform = await openPlatform(config, { ...options, ...(logger === undefined ? {} : { logger }) });
  try {
    return await fn(platform);
  } finally {
    await platform.close();
  }
}

/**
 * Creates the platform's input topics when missing (rec.items and rec.users
 * compacted, rec.interactions), so long-running roles start on an empty
 * data dir and process what producers send later.
 */
export async function ensureInputTopics(platform: Platform): Promise<void> {
  for (const spec of simulationTopics(platform.config.partitions)) await platform.log.ensureTopic(spec);
}

/** The topologies named by `--app` (`all` or unset: every application). */
export async function selectTopologies(
  platform: Pick<Platform, 'serde' | 'config'>,
  app: string | undefined,
): Promise<Topology[]> {
  const names = app === undefined || app === 'all' ? applicationNames() : app.split(',');
  const out: Topology[] = [];
  for (const name of names) {
    const build = APPLICATIONS[name];
    if (!build)
      throw new TopologyError(
        `unknown application ${JSON.stringify(name)}; known: ${applicationNames().join(', ')}`,
      );
    out.push(await build(platform.serde, platform.config));
  }
  return out;
}

/** Where a running application and `recstream replay` / `rebuild` exchange requests (runtime/engine/replay-control.ts). */
export function controlDir(dataDir: string, applicationId: string): string {
  return join(dataDir, 'control', applicationId);
}

/**
 * The runner options every command uses for an application on this
 * platform: its state dir, the configured engine and commit interval, the
 * Avro dead-letter serializer and a logger naming the application.
 */
export async function runnerOptions(platform: Platform, topology: Topology): Promise<RunnerOptions> {
  return {
    topology,
    log: platform.log,
    stateDir: platform.stateDir(topology.applicationId),
    engine: platform.config.stateEngine,
    commitIntervalMs: platform.config.commitIntervalMs,
    commitIdleMs: platform.config.commitIdleMs,
    deadLetters: avroSerializer(await platform.serde.encoder('rec.dlq-value')),
    topics: PLATFORM_TOPICS,
    logger: platform.logger.child({ application: topology.applicationId }),
  };
}

/**
 * runnerOptions in the application's active state namespace (`active.json`
 * under its control dir; none: the default namespace): what `process`,
 * `state digest`, `replay` and `online get` open.
 */
export async function activeRunnerOptions(platform: Platform, topology: Topology): Promise<RunnerOptions> {
  const namespace = await readActiveNamespace(controlDir(platform.config.dataDir, topology.applicationId));
  return optionsInNamespace(await runnerOptions(platform, topology), namespace);
}

/** The active state namespace of each application in `dataDir` (for onlineViews' `namespaceOf`). */
export function activeNamespaceOf(dataDir: string): (application: string) => Promise<string | undefined> {
  return (application) => readActiveNamespace(controlDir(dataDir, application));
}

/** The topology as it runs in its application's active state namespace. */
export async function activeTopology(dataDir: string, topology: Topology): Promise<Topology> {
  return namespacedTopology(topology, await activeNamespaceOf(dataDir)(topology.applicationId));
}
