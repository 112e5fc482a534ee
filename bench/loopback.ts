/**
 * Loopback helpers for starting a server as a child process: a TCP port
 * free on 127.0.0.1 right now (a child must be told its port in advance),
 * and whether a Redis server answers on a port. The benchmarks' private
 * Redis and the tests' own Redis and Kafka-protocol server use them.
 *
 * @example
 * ```ts
 * const port = await freePort();
 * spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1']);
 * while (!(await redisAnswersPing(port))) await sleep(50);
 * ```
 */
import { createServer, Socket } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a Redis server on 127.0.0.1:`port` answers PING within a second. */
export function redisAnswersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    // A server that requires a password answers NOAUTH: it is up all the same.
    socket.on('data', (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}
