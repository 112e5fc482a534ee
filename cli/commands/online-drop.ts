import { ViewRegistry } from '../../runtime/online/views.js';
import type { Command } from '../command.js';
import { withRedisOnlineStore } from '../online.js';

/** `recstream online drop NS`: deletes a namespace that no longer serves (SCAN + UNLINK in batches). */
export const onlineDropCommand: Command = {
  name: 'online drop',
  summary: 'delete a namespace that is not active, after a grace period for reads in flight',
  usage: 'recstream online drop <namespace>',
  options: {},
  run: ({ config, positionals }) => {
    const [namespace] = positionals;
    if (namespace === undefined || positionals.length !== 1) {
      process.stderr.write('usage: recstream online drop <namespace>\n');
      return Promise.resolve(2);
    }
    return withRedisOnlineStore(config, new ViewRegistry([]), async (store) => {
      const report = await store.drop(namespace);
      process.stdout.write(`dropped namespace ${report.namespace}: ${report.removed} keys deleted\n`);
      return 0;
    });
  },
};
