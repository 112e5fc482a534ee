import { createHash } from 'node:crypto';
import { activeRunnerOptions, selectTopologies, withPlatform } from '../../app/platform.js';
import { StreamRunner } from '../../runtime/engine/runner.js';
import type { Platform } from '../../runtime/platform.js';
import type { Topology } from '../../runtime/processor/topology.js';
import type { Command } from '../command.js';

export const stateDigestCommand: Command = {
  name: 'state digest',
  summary: 'a stable sha256 of every store (per application, store and partition), for comparing runs',
  usage: 'recstream state digest [--app NAME|all] [--json]',
  options: { app: { type: 'string' }, json: { type: 'boolean' } },
  run: ({ config, values }) =>
    withPlatform(config, async (platform) => {
      const digests: Record<string, string> = {};
      const app = values.app as string | undefined;
      for (const topology of await selectTopologies(platform, app)) {
        const options = await activeRunnerOptions(platform, topology);
        // Asked for every application: one that never ran here has no changelogs (and maybe no source topics yet).
        if ((app === undefined || app === 'all') && !(await hasRun(platform, options.topology))) continue;
        // Opening the tasks restores any state missing on disk from the changelogs first.
        const runner = await StreamRunner.start(options);
        try {
          for (const [store, hash] of Object.entries(await runner.digest()))
            digests[`${topology.applicationId}/${store}`] = hash;
        } finally {
          await runner.close();
        }
      }
      const all = createHash('sha256');
      for (const [name, hash] of Object.entries(digests)) all.update(`${name} ${hash}\n`);
      const total = all.digest('hex');
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ stores: digests, all: total }, null, 2)}\n`);
      } else {
        for (const [name, hash] of Object.entries(digests)) process.stdout.write(`${hash}  ${name}\n`);
        process.stdout.write(`${total}  all\n`);
      }
      return 0;
    }),
};

async function hasRun(platform: Platform, topology: Topology): Promise<boolean> {
  for (const store of topology.stores)
    if (await platform.log.describeTopic(store.changelogTopic)) return true;
  return topology.stores.length === 0;
}
