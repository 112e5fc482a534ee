import { selectTopologies, withPlatform } from '../../app/platform.js';
import type { Command } from '../command.js';

export const describeCommand: Command = {
  name: 'describe',
  summary: 'print the topology: sources, processors, stores (with changelogs) and sinks',
  usage: 'recstream describe [--app NAME|all]',
  options: { app: { type: 'string' } },
  run: ({ config, values }) =>
    withPlatform(
      config,
      async (platform) => {
        const topologies = await selectTopologies(platform, values.app as string | undefined);
        process.stdout.write(`${topologies.map((t) => t.describe()).join('\n\n')}\n`);
        return 0;
      },
      // Describing writes nothing: beside a running process it reads the schemas that one registered.
      { besideHolder: true },
    ),
};
