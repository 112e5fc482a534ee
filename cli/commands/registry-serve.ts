import { isLoopbackHost } from '../../responders/auth/exposure.js';
import { ConfigError } from '../../runtime/errors.js';
import { openEmbeddedRegistry } from '../../runtime/registry/embedded/embedded-registry.js';
import { startRegistryServer } from '../../runtime/registry/server.js';
import type { Command } from '../command.js';

export const registryServeCommand: Command = {
  name: 'registry serve',
  summary:
    "serve the data dir's schema registry over Confluent Schema Registry's REST API, for RECSTREAM_SCHEMA_REGISTRY_URL (local use and tests)",
  usage: 'recstream registry serve [--host 127.0.0.1] [--port 8081] [--open]',
  options: { host: { type: 'string' }, port: { type: 'string' }, open: { type: 'boolean' } },
  run: async ({ config, values }) => {
    const port = Number(values.port ?? 8081);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError(`--port must be a port number (0 picks a free one), got ${String(values.port)}`);
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    // The API takes no credentials: anyone who reaches it can register schemas and change
    // compatibility, which every producer and consumer then follows.
    if (!isLoopbackHost(host) && values.open !== true)
      throw new ConfigError(
        `refusing to serve the schema registry on --host ${host}: it takes no credentials, so anyone who reaches it could register schemas and change compatibility; listen on loopback (--host 127.0.0.1) or pass --open to serve it open on purpose`,
      );
    const registry = await openEmbeddedRegistry({ dataDir: config.dataDir });
    const server = await startRegistryServer({ registry, host, port });
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
