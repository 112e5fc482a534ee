/**
 * A `redis-server` of the test's own on a free loopback port, so a fault test
 * can kill it (the shared server on 6379 is never touched). It keeps an
 * append-only file fsynced on every write in its own folder, as a Redis that
 * must survive a crash is run: a restart on the same port and folder gets the
 * data back. With a password it requires one, as a shipped Redis does.
 *
 * @example
 * ```ts
 * const redis = await startOwnRedis(dir);
 * redis.kill();                  // kill -9
 * await redis.restart();         // same port, same data
 * await redis.stop();
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { after } from 'node:test';
import { freePort, redisAnswersPing } from '../bench/loopback.js';
import { sleep } from '../runtime/retry.js';

export interface OwnRedis {
  readonly url: string;
  /** SIGKILL: no shutdown, no save. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder; resolves once it accepts connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts redis-server with its files in `dir`, requiring `password` when one is given. */
export async function startOwnRedis(dir: string, password?: string): Promise<OwnRedis> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    const c = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        ...(password === undefined ? [] : ['--requirepass', password]),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = c;
    running.add(c);
    let failure: Error | undefined;
    c.once('error', (err) => (failure = err));
    exited = new Promise((resolve) =>
      c.once('exit', () => {
        running.delete(c);
        resolve();
      }),
    );
    for (let i = 0; !(await redisAnswersPing(port)); i++) {
      if (failure) throw new Error(`redis-server could not start: ${failure.message}`);
      if (i > 300) throw new Error(`redis-server on 127.0.0.1:${port} did not answer PING`);
      await sleep(50);
    }
  };
  await start();
  return {
    url: `redis://${password === undefined ? '' : `:${encodeURIComponent(password)}@`}127.0.0.1:${port}`,
    async kill() {
      child?.kill('SIGKILL');
      await exited;
    },
    restart: start,
    async stop() {
      child?.kill('SIGKILL');
      await exited;
    },
  };
}
