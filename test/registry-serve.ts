/**
 * `recstream registry serve` as a child process on a free loopback port, for
 * tests that point RECSTREAM_SCHEMA_REGISTRY_URL at the project's own
 * Confluent-compatible registry server.
 *
 * @example
 * ```ts
 * const registry = await startRegistryServe(join(dir, 'registry-data'));
 * await runCliOk(['simulate', ...], { RECSTREAM_SCHEMA_REGISTRY_URL: registry.url });
 * await registry.stop();
 * ```
 */
import assert from 'node:assert/strict';
import { finished, startCli } from './cli.js';

export interface RegistryServe {
  /** Base URL, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** SIGTERM, then the command's exit status (0 when it closed cleanly). */
  stop(): Promise<number | null>;
}

export async function startRegistryServe(dataDir: string): Promise<RegistryServe> {
  const child = startCli(['registry', 'serve', '--port', '0', '--data-dir', dataDir]);
  const done = finished(child);
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match) resolve(match[1]!);
    });
    void done.then((result) =>
      reject(
        new Error(`recstream registry serve exited (${result.code ?? result.signal}): ${result.stderr}`),
      ),
    );
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      const result = await done;
      assert.equal(result.signal, null, `registry serve was killed: ${result.stderr}`);
      return result.code;
    },
  };
}
