import { ConfigError } from '../../runtime/errors.js';
import { openEmbeddedRegistry } from '../../runtime/registry/embedded/embedded-registry.js';
import { startRegistryServer } from '../../runtime/registry/server.js';
import type { Command } from '../command.js';

export const registryServeCommand: Command = {
  name: 'registry serve',
  summary:
    "serve the data dir's schema registry over Confluent Schema Registry's REST API, for RECSTREAM_SCHEMA_REGISTRY_URL (local use and tests)",
  usage: 'recstream registry serve [--host 127.0.0.1] [--port 8081]',
  options: { host: { type: 'string' }, port: { type: 'string' } },
  run: async ({ config, values }) => {
    const port = Number(values.port ?? 8081);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError(`--port must be a port number (0 picks a free one), got ${String(values.port)}`);
    const registry = await openEmbeddedRegistry({ dataDir: config.dataDir });
    const server = await startRegistryServer({
      registry,
      host: (values.host as string | undefined) ?? '127.0.0.1',
      port,
    });
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      process.stdout.write(`recstream registry serve: listening on ${server.url}\n`);
      await stopped;
      return 0;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      await server.close();
      await registry.close();
    }
  },
};
