/**
 * Starts the servers the `ingest` bench measures as child processes, pinned
 * to one CPU with `taskset` where it exists (so "on one core" is what is
 * measured), and stops them.
 *
 * @example
 * ```ts
 * const server = await startServer(ingestCommand(dataDir));
 * // ... load server.url ...
 * await server.stop();
 * ```
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '../../cli/main.js');
const REFERENCE = resolve(here, 'reference-server.js');

/** The CPU servers are pinned to, or undefined without taskset or a second CPU for the load generator. */
export const SERVER_CPU: number | undefined =
  cpus().length > 1 && spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? 0 : undefined;

/**
 * Pins this process (the load generator) to another CPU than the servers,
 * so it does not take turns with them; returns how to undo it.
 */
export function pinLoadGenerator(): () => void {
  if (SERVER_CPU === undefined) return () => {};
  const current = /: ([0-9a-f,]+)\s*$/.exec(
    spawnSync('taskset', ['-p', String(process.pid)]).stdout.toString(),
  )?.[1];
  if (current === undefined) return () => {};
  const pinned =
    spawnSync('taskset', ['-a', '-p', '-c', String(SERVER_CPU + 1), String(process.pid)]).status === 0;
  return pinned ? () => void spawnSync('taskset', ['-a', '-p', current, String(process.pid)]) : () => {};
}

export interface ServerCommand {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Polled until it answers 200 before the server counts as started. */
  readonly readyPath?: string;
}

export function ingestCommand(dataDir: string): ServerCommand {
  return {
    args: [CLI, 'serve', '--data-dir', dataDir],
    env: { RECSTREAM_HTTP_PORT: '0', RECSTREAM_LOG_LEVEL: 'warn' },
    readyPath: '/readyz',
  };
}

export const referenceCommand: ServerCommand = { args: [REFERENCE], env: {} };

export interface RunningServer {
  readonly url: string;
  /** CPU time the server used so far, all threads, in seconds; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** utime + stime of a process from /proc/<pid>/stat (fields 14 and 15). */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** The executable and arguments that run `node <args>` on the server's CPU (taskset) when pinning works. */
export function pinnedNode(nodeArgs: readonly string[]): [file: string, args: string[]] {
  return SERVER_CPU === undefined
    ? [process.execPath, [...nodeArgs]]
    : ['taskset', ['-c', String(SERVER_CPU), process.execPath, ...nodeArgs]];
}

/**
 * The executable and arguments that run `node <args>` on every CPU: a child
 * inherits its parent's affinity, so one started by a pinned load generator
 * would otherwise share its CPU.
 */
export function everyCpuNode(nodeArgs: readonly string[]): [file: string, args: string[]] {
  return SERVER_CPU === undefined
    ? [process.execPath, [...nodeArgs]]
    : ['taskset', ['-c', `0-${cpus().length - 1}`, process.execPath, ...nodeArgs]];
}

export async function startServer(command: ServerCommand): Promise<RunningServer> {
  const [file, args] = pinnedNode(command.args);
  const child = spawn(file, args, {
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolveUrl(match[1]!);
    });
    exited.then((code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
  if (command.readyPath !== undefined) await waitReady(new URL(command.readyPath, url));
  // Under taskset the child's pid is node's own: taskset execs it.
  return { url, cpuSeconds: () => cpuSecondsOf(child.pid!), stop: () => stop(child, exited) };
}

async function waitReady(url: URL): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not become ready within 10 s`);
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
