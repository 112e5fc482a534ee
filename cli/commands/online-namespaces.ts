import { ViewRegistry } from '../../runtime/online/views.js';
import type { Command } from '../command.js';
import { withRedisOnlineStore } from '../online.js';

/** `recstream online namespaces`: the Redis online store's namespaces and which one serves. */
export const onlineNamespacesCommand: Command = {
  name: 'online namespaces',
  summary: 'list the online-store namespaces in Redis (active, building, retired)',
  usage: 'recstream online namespaces [--json]',
  options: { json: { type: 'boolean' } },
  run: ({ config, values }) =>
    withRedisOnlineStore(config, new ViewRegistry([]), async (store) => {
      const namespaces = await store.namespaces();
      if (values.json) {
        process.stdout.write(`${JSON.stringify(namespaces, null, 2)}\n`);
        return 0;
      }
      if (namespaces.length === 0)
        process.stdout.write('no namespaces yet (recstream materialize creates one)\n');
      for (const ns of namespaces) {
        const since = ns.retiredTs === undefined ? '' : `  retired ${new Date(ns.retiredTs).toISOString()}`;
        process.stdout.write(
          `${ns.name.padEnd(24)} ${ns.state.padEnd(8)}  created ${new Date(ns.createdTs).toISOString()}${since}\n`,
        );
      }
      return 0;
    }),
};
