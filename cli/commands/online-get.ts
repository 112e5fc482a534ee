import {
  activeNamespaceOf,
  activeRunnerOptions,
  selectTopologies,
  withPlatform,
} from '../../app/platform.js';
import { StreamRunner } from '../../runtime/engine/runner.js';
import { runnersLookup } from '../../runtime/online/in-process/task-lookup.js';
import { openOnlineStore } from '../../runtime/online/open.js';
import { onlineViews } from '../../topologies/online-views.js';
import type { Command } from '../command.js';

/**
 * `recstream online get VIEW KEY...`: what a responder would read, from
 * Redis when RECSTREAM_REDIS_URL is set, otherwise from the processors'
 * stores on disk (opened, restored if needed, and closed again).
 */
export const onlineGetCommand: Command = {
  name: 'online get',
  summary: 'print feature-view values as responders read them (Redis, or the stores on disk)',
  usage: 'recstream online get <view> <key> [<key>...]',
  options: {},
  run: ({ config, positionals }) => {
    const [view, ...keys] = positionals;
    if (view === undefined || keys.length === 0) {
      process.stderr.write('usage: recstream online get <view> <key> [<key>...]\n');
      return Promise.resolve(2);
    }
    return withPlatform(config, async (platform) => {
      const resolved = await onlineViews(platform.serde, { namespaceOf: activeNamespaceOf(config.dataDir) });
      const binding = resolved.bindings.find((b) => b.view.name === view);
      const runners = new Map<string, StreamRunner>();
      if (config.redisUrl === undefined && binding !== undefined) {
        const [topology] = await selectTopologies(platform, binding.application);
        runners.set(
          binding.application,
          await StreamRunner.start(await activeRunnerOptions(platform, topology!)),
        );
      }
      const store = await openOnlineStore(config, resolved, platform.logger, runnersLookup(runners));
      try {
        const values = await store.getMany(view, keys);
        keys.forEach((key, i) => {
          process.stdout.write(`${JSON.stringify({ view, key, value: values[i] ?? null }, printable)}\n`);
        });
      } finally {
        await store.close();
        for (const runner of runners.values()) await runner.close();
      }
      return 0;
    });
  },
};

function printable(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}
