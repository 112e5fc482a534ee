/**
 * A real Kafka-protocol server on loopback for tests: go-mokapi, started from
 * an AsyncAPI spec that declares the given topics. Mokapi only behaves for
 * topics declared in its spec (consumer groups on topics made with
 * CreateTopics crash it), so tests name every topic they need up front.
 *
 * The spec lives alone in a fresh temp folder because mokapi loads (and runs
 * as scripts) every file beside it. Ports are picked free at start; the
 * HTTP API that mokapi always serves is moved to a free port too, and the
 * dashboard, health and MCP endpoints are switched off.
 *
 * `startKafkaServer` returns a reason string instead of a server only when the
 * mokapi binary genuinely cannot run here (package missing, unsupported
 * platform, not executable); anything else that goes wrong is thrown.
 *
 * @example
 * ```ts
 * const started = await startKafkaServer({ topics: [{ name: 'orders', partitions: 3 }] });
 * if (typeof started === 'string') return missingService(t, started); // test/skips.ts
 * try {
 *   const log = new KafkaLog({ brokers: started.brokers });
 *   // ...
 * } finally {
 *   await started.stop();
 * }
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { freePort } from '../bench/loopback.js';
import { sleep } from '../runtime/retry.js';

export interface KafkaTestTopic {
  readonly name: string;
  readonly partitions: number;
}

export interface KafkaServerOptions {
  readonly topics: readonly KafkaTestTopic[];
  /** Upper bound on the server accepting connections and answering metadata. Default 20000 ms. */
  readonly startTimeoutMs?: number;
  /** A mokapi binary to run instead of the go-mokapi package's one for this platform. */
  readonly binary?: string;
}

export interface KafkaTestServer {
  /** Bootstrap brokers for clients, e.g. `['127.0.0.1:40123']`. */
  readonly brokers: readonly string[];
  readonly port: number;
  /** The last lines mokapi printed (for failure messages). */
  logs(): string;
  /** Kills the server's process group and removes its temp folder. Idempotent. */
  stop(): Promise<void>;
}

const LOG_LIMIT = 64 * 1024;

/**
 * The largest produce request to send go-mokapi: 0.52 panics on a record
 * batch past 64 KiB of large records (the request then times out), so
 * clients cap their requests below it (`maxRequestBytes` of KafkaLog,
 * RECSTREAM_KAFKA_MAX_REQUEST_BYTES). A single record over 64 KiB fails
 * whatever the cap.
 */
export const MOKAPI_MAX_REQUEST_BYTES = 60_000;

/**
 * What go-mokapi 0.52 printed when it died of the data race in its lag
 * metric (`processMetricsOffsetCommit` reads a group's committed offsets
 * while an OffsetCommit writes them; runtime/log/kafka/README.md), or
 * undefined when its output shows no such death. A test may run its
 * scenario again on a fresh server after this crash of the test server;
 * any other failure stands.
 */
export function mokapiLagMetricRace(logs: string): string | undefined {
  if (!logs.includes('processMetricsOffsetCommit')) return undefined;
  return /fatal error: concurrent map[^\n]*/.exec(logs)?.[0];
}

/**
 * POSIX watchdog around mokapi: it runs mokapi in the background and kills it
 * when its own stdin (a pipe from this process) closes, which happens however
 * this process ends, kill -9 included. It exits with mokapi's status.
 */
const WATCHDOG = [
  // Background jobs of a non-interactive shell read /dev/null; keep the pipe on fd 3 for the reader.
  'exec 3<&0',
  '"$@" </dev/null & pid=$!',
  "trap 'kill -TERM $pid 2>/dev/null; exit 143' TERM INT HUP",
  '{ while read -r _ <&3; do :; done; kill -TERM $pid 2>/dev/null; } &',
  'wait $pid',
].join('\n');

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** The mokapi binary of this platform, or why there is none. */
export function mokapiBinary(): { path: string } | { reason: string } {
  const packages: Record<string, string> = {
    'linux-x64': '@go-mokapi/linux-x64',
    'linux-arm64': '@go-mokapi/linux-arm64',
    'darwin-x64': '@go-mokapi/darwin-x64',
    'darwin-arm64': '@go-mokapi/darwin-arm64',
    'win32-x64': '@go-mokapi/win32-x64',
    'win32-arm64': '@go-mokapi/win32-arm64',
  };
  const pkg = packages[`${process.platform}-${process.arch}`];
  if (!pkg) return { reason: `go-mokapi has no binary for ${process.platform}/${process.arch}` };
  let path: string;
  try {
    path = createRequire(import.meta.url)(pkg) as string;
  } catch (err) {
    return {
      reason: `go-mokapi binary package ${pkg} is not installed (${(err as Error).message.split('\n')[0]}); run npm install`,
    };
  }
  if (typeof path !== 'string' || !existsSync(path))
    return { reason: `go-mokapi binary not found at ${String(path)}` };
  return { path };
}

/** The AsyncAPI 3 document mokapi serves: one broker on loopback, one channel per topic, raw byte messages. */
export function asyncApiSpec(port: number, topics: readonly KafkaTestTopic[]): string {
  const lines = [
    'asyncapi: 3.0.0',
    'info:',
    '  title: recstream-test',
    '  version: 1.0.0',
    'servers:',
    '  broker:',
    `    host: '127.0.0.1:${port}'`,
    '    protocol: kafka',
    '    bindings:',
    '      kafka:',
    // mokapi treats 0 as "unset" (3000 ms); 1 ms makes a lone consumer's join immediate.
    '        group.initial.rebalance.delay.ms: 1',
    '        group.min.session.timeout.ms: 500',
    'channels:',
  ];
  for (const t of topics) {
    if (!/^[a-zA-Z0-9._-]{1,249}$/.test(t.name))
      throw new Error(`invalid topic name ${JSON.stringify(t.name)}`);
    if (!Number.isInteger(t.partitions) || t.partitions < 1)
      throw new Error(`topic ${t.name}: partitions must be a positive integer`);
    lines.push(
      `  '${t.name}':`,
      `    address: '${t.name}'`,
      '    bindings:',
      '      kafka:',
      `        partitions: ${t.partitions}`,
      '    messages:',
      '      raw:',
      // Without a binary content type mokapi validates payloads as JSON and rejects Avro bytes.
      '        contentType: application/octet-stream',
      '        payload:',
      '          type: string',
    );
  }
  return `${lines.join('\n')}\n`;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

/** Waits until the port accepts connections and kafkajs sees every declared topic with its partitions. */
async function waitReady(
  port: number,
  topics: readonly KafkaTestTopic[],
  deadline: number,
  exited: () => string | undefined,
): Promise<void> {
  while (!(await canConnect(port))) {
    const why = exited();
    if (why) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`mokapi did not accept connections on 127.0.0.1:${port}`);
    await sleep(50);
  }
  const kafka = new kafkajs.Kafka({
    brokers: [`127.0.0.1:${port}`],
    clientId: 'recstream-test-harness',
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
  });
  const admin = kafka.admin();
  try {
    for (;;) {
      const why = exited();
      if (why) throw new Error(why);
      try {
        await admin.connect();
        const names = await admin.listTopics();
        const missing = topics.filter((t) => !names.includes(t.name));
        if (missing.length === 0) {
          const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
          const wrong = topics.filter(
            (t) => meta.topics.find((m) => m.name === t.name)?.partitions.length !== t.partitions,
          );
          if (wrong.length === 0) return;
        }
      } catch {
        // Not ready yet; try again until the deadline.
      }
      if (Date.now() > deadline)
        throw new Error(
          `mokapi on 127.0.0.1:${port} did not serve metadata for ${topics.map((t) => t.name).join(', ')}`,
        );
      await sleep(100);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Starts go-mokapi serving `topics` on a free loopback port. Resolves to the
 * server, or to a reason string when mokapi cannot run on this machine.
 */
export async function startKafkaServer(options: KafkaServerOptions): Promise<KafkaTestServer | string> {
  const binary = options.binary === undefined ? mokapiBinary() : { path: options.binary };
  if ('reason' in binary) return binary.reason;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  let lastError: Error | undefined;
  // A free port can be taken between probing and binding; a fresh pair on the next attempt settles it.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const apiPort = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'recstream-mokapi-'));
    const specPath = join(dir, 'kafka.yaml');
    await writeFile(specPath, asyncApiSpec(port, options.topics));
    let output = '';
    let exitedWith: string | undefined;
    let cannotRun: string | undefined;
    const args = [
      `--api-port=${apiPort}`,
      '--api-dashboard=false',
      '--api-search-enabled=false',
      '--mcp-server-enabled=false',
      '--health-enabled=false',
      '--log-level=warn',
      specPath,
    ];
    // detached: mokapi (and its watchdog) get their own process group, which stop() kills as a whole.
    const child =
      process.platform === 'win32'
        ? spawn(binary.path, args, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('/bin/sh', ['-c', WATCHDOG, 'sh', binary.path, ...args], {
            cwd: dir,
            detached: true,
            stdio: ['pipe', 'pipe', 'pipe'],
          });
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-LOG_LIMIT);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'ENOEXEC') {
        cannotRun = `go-mokapi binary ${binary.path} cannot run here: ${err.message}`;
      }
      exitedWith = `mokapi could not be started: ${err.message}`;
    });
    const exit = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        // 126/127: the shell could not execute the binary.
        if (code === 126 || code === 127)
          cannotRun = `go-mokapi binary ${binary.path} cannot run here:\n${output.slice(-2000)}`;
        exitedWith ??= `mokapi exited (${signal ?? `code ${code}`}) before it was ready:\n${output.slice(-4000)}`;
        resolve();
      });
      child.once('error', () => resolve());
    });
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      const running = exitedWith === undefined;
      killGroup(child, 'SIGTERM');
      if (running) {
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3_000);
        await exit;
        clearTimeout(timer);
      }
      child.stdin?.destroy();
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await waitReady(port, options.topics, Date.now() + startTimeoutMs, () => exitedWith);
    } catch (err) {
      await stop();
      if (cannotRun !== undefined) return cannotRun;
      lastError = err as Error;
      continue;
    }
    // A test that forgets stop() must not keep the process alive; the watchdog ends mokapi when it exits.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.unref();
    return { brokers: [`127.0.0.1:${port}`], port, logs: () => output, stop };
  }
  throw lastError ?? new Error('mokapi did not start');
}
