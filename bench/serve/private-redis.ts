/**
 * A `redis-server` of the `serve` suite's own on a free loopback port, with
 * no persistence: the stateless responder's online store for one run. A
 * private server rather than a key prefix on a shared one, so that the
 * run neither reads nor leaves keys anyone else sees, and so that its
 * memory and CPU are the run's alone.
 *
 * @example
 * ```ts
 * const redis = await startPrivateRedis();
 * redis.url; // redis://127.0.0.1:40123
 * await redis.stop();
 * ```
 */
import { spawn } from 'node:child_process';
import { freePort, redisAnswersPing } from '../loopback.js';

export interface PrivateRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `redis-server` (it must be on the PATH); resolves once it answers PING. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const failed = await Promise.race([
      spawnFailed,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)),
    ]);
    if (failed !== undefined) throw new Error(`redis-server did not start: ${failed.message}`);
    if (child.exitCode !== null) break;
    if (await redisAnswersPing(port)) return { url: `redis://127.0.0.1:${port}`, stop };
  }
  await stop();
  throw new Error(`redis-server on port ${port} did not answer PING: ${stderr}`);
}
