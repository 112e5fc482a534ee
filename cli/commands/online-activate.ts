import { ViewRegistry } from '../../runtime/online/views.js';
import type { Command } from '../command.js';
import { withRedisOnlineStore } from '../online.js';

/** `recstream online activate NS`: the blue/green swap, one atomic pointer change. */
export const onlineActivateCommand: Command = {
  name: 'online activate',
  summary: 'make a namespace the one responders read (atomic swap; the previous one is retired)',
  usage: 'recstream online activate <namespace>',
  options: {},
  run: ({ config, positionals }) => {
    const [namespace] = positionals;
    if (namespace === undefined || positionals.length !== 1) {
      process.stderr.write('usage: recstream online activate <namespace>\n');
      return Promise.resolve(2);
    }
    return withRedisOnlineStore(config, new ViewRegistry([]), async (store) => {
      const previous = await store.activeNamespace();
      await store.activate(namespace);
      process.stdout.write(
        `active namespace: ${namespace}${previous && previous !== namespace ? ` (was ${previous})` : ''}\n`,
      );
      return 0;
    });
  },
};
