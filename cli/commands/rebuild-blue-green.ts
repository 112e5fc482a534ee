/**
 * `recstream rebuild --blue-green`: the rebuild itself is the runtime's
 * (runtime/engine/blue-green-rebuild.ts); this binds it to the command's
 * configuration, the applications in topologies/, progress on stderr and
 * result lines on stdout, and with Redis configured the online views it
 * follows.
 */

import {
  activeNamespaceOf,
  controlDir,
  runnerOptions,
  selectTopologies,
  withPlatform,
} from '../../app/platform.js';
import type { Config } from '../../runtime/config.js';
import type { FollowedOnlineStore } from '../../runtime/engine/blue-green-online.js';
import { type BlueGreenHost, rebuildBlueGreen as rebuild } from '../../runtime/engine/blue-green-rebuild.js';
import type { MaterializedSource } from '../../runtime/online/materializer.js';
import { onlineViews } from '../../topologies/online-views.js';
import { withRedisOnlineStore } from '../online.js';
import { Progress } from '../progress.js';

/** Rebuilds `apps` (writers first) blue/green into `requested` or a generated namespace. */
export async function rebuildBlueGreen(
  config: Config,
  apps: readonly string[],
  requested: string | undefined,
): Promise<number> {
  await rebuild(apps, requested, cliHost(config));
  return 0;
}

function cliHost(config: Config): BlueGreenHost {
  return {
    controlDir: (app) => controlDir(config.dataDir, app),
    withPlatform: (fn, options) => withPlatform(config, fn, options),
    topology: async (platform, app) => (await selectTopologies(platform, app))[0]!,
    runnerOptions,
    ...(config.redisUrl === undefined ? {} : { online: redisOnline(config) }),
    report: {
      progress: (label, total) => new Progress(label, total),
      info: (line) => process.stdout.write(`${line}\n`),
      warn: (line) => process.stderr.write(`${line}\n`),
    },
  };
}

/** The views, materialized from their applications' active changelogs into Redis. */
function redisOnline(config: Config): FollowedOnlineStore {
  return {
    withStore: async (platform, fn) => {
      const resolved = await onlineViews(platform.serde, {
        skipNotRun: true,
        namespaceOf: activeNamespaceOf(config.dataDir),
      });
      const sources: MaterializedSource[] = [];
      for (const source of resolved.sources)
        if (await platform.log.describeTopic(source.topic)) sources.push(source);
      return withRedisOnlineStore(config, resolved.views, (store) => fn(store, sources));
    },
  };
}
