/**
 * State namespaces: a second, independent copy of an application's state,
 * built beside the one in use (blue/green rebuild). A namespace N gives the
 * application its own state dir, changelogs and internal topics; its input
 * topics and external outputs are the same. The default namespace
 * (undefined) keeps exactly today's names, so existing data dirs work.
 *
 * | what               | default                        | namespace N                      |
 * |--------------------|--------------------------------|----------------------------------|
 * | state dir          | `<dataDir>/state/<app>`        | `<dataDir>/state/<app>@N`        |
 * | changelog          | `rec.<processor>.<store>.changelog` | `rec.<processor>.<store>.N.changelog` |
 * | internal topic     | `rec.interactions.enriched`    | `rec.interactions.enriched.N`    |
 *
 * An internal topic is one the topology both writes (a sink) and reads (a
 * source): a repartition topic no other application reads.
 *
 * @example
 * ```ts
 * const green = namespacedTopology(topology, checkNamespace('g20261121'));
 * const dir = namespacedStateDir(platform.stateDir(topology.applicationId), 'g20261121');
 * ```
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { changelogTopicName, renameTopics, type Topology } from '../processor/topology.js';
import type { RunnerOptions } from './runner.js';

const NAMESPACE = /^[a-z0-9][a-z0-9-]{0,23}$/;

/** Returns `name` if it is a valid namespace (1–24 of a-z, 0-9, '-', not starting with '-'), else throws. */
export function checkNamespace(name: string): string {
  if (!NAMESPACE.test(name))
    throw new ConfigError(
      `namespace ${JSON.stringify(name)} must be 1–24 characters of a-z, 0-9 and '-', starting with a letter or digit`,
    );
  return name;
}

/** A fresh namespace name: `g` + UTC date and time to the second + 4 random hex digits. */
export function generateNamespace(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `g${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Topics the topology writes and reads itself (repartition topics). */
export function internalTopics(topology: Topology): Set<string> {
  const sources = new Set(topology.sourceTopics());
  return new Set(topology.sinkTopics().filter((t) => sources.has(t)));
}

/** The topology as it runs in `namespace`; the default namespace (undefined) is the topology itself. */
export function namespacedTopology(topology: Topology, namespace: string | undefined): Topology {
  if (namespace === undefined) return topology;
  checkNamespace(namespace);
  const internal = internalTopics(topology);
  return renameTopics(topology, {
    changelog: (owner, store) => namespacedChangelog(changelogTopicName(owner, store), namespace),
    topic: (name) => (internal.has(name) ? `${name}.${namespace}` : name),
  });
}

/** The state dir of an application in `namespace`, from its default one (`Platform.stateDir`). */
export function namespacedStateDir(stateDir: string, namespace: string | undefined): string {
  return namespace === undefined ? stateDir : `${stateDir}@${checkNamespace(namespace)}`;
}

/** Every topic that exists only for this namespace (undefined: the default one): its changelogs and internal topics. */
export function namespaceTopics(topology: Topology, namespace: string | undefined): string[] {
  const own = namespacedTopology(topology, namespace);
  return [...own.stores.map((s) => s.changelogTopic), ...internalTopics(own)];
}

function namespacedChangelog(topic: string, namespace: string): string {
  return `${topic.slice(0, -'.changelog'.length)}.${namespace}.changelog`;
}

/** Runner options for `namespace` from the default namespace's (`base`: topology and state dir unprefixed). */
export function optionsInNamespace(base: RunnerOptions, namespace: string | undefined): RunnerOptions {
  if (namespace === undefined) return base;
  return {
    ...base,
    topology: namespacedTopology(base.topology, namespace),
    stateDir: namespacedStateDir(base.stateDir, namespace),
    namespace,
    logger: base.logger.child({ namespace }),
  };
}
