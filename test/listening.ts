/**
 * Starts a `recstream` command that serves HTTP (`serve`, `up`) as a child
 * process and waits for the URL it prints.
 *
 * @example
 * ```ts
 * const server = await startListening(['serve', '--data-dir', dir], { RECSTREAM_HTTP_PORT: '0' });
 * await fetch(`${server.url}/readyz`);
 * server.child.kill('SIGTERM');
 * const result = await server.exit;
 * ```
 */
import type { ChildProcess } from 'node:child_process';
import { type CliResult, finished, startCli } from './cli.js';

export interface Listening {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exit: Promise<CliResult>;
}

export async function startListening(
  args: readonly string[],
  env: Record<string, string>,
): Promise<Listening> {
  const child = startCli(args, env);
  const exit = finished(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /(?:listening|serving) on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    exit.then((r) => reject(new Error(`recstream ${args[0]} exited before listening: ${r.stderr}`)));
  });
  return { child, url, exit };
}

/** Polls `probe` every 100 ms until it is true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
