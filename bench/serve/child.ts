/**
 * Starts the servers the `serve` and `freshness` suites load as child
 * processes, pinned to the servers' CPU with `taskset` like the `ingest`
 * suite's (bench/ingest/servers.ts: the load generator stays on the other
 * CPU), waits until they listen (and, given a `readyPath`, answer it 200),
 * and stops them. Unlike the ingest suite's starter it waits as long as a
 * responder loading a 100,000-item catalog and its model takes, and it can
 * open an IPC channel (the reload host takes its commands over it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpuSecondsOf, everyCpuNode, pinnedNode } from '../ingest/servers.js';

export interface ChildCommand {
  /** Arguments to node: the script first. */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Polled until it answers 200 before the server counts as started. */
  readonly readyPath?: string;
  /** How long listening and ready may take; default 120 s. */
  readonly readyTimeoutMs?: number;
  /** Open an IPC channel (`child.send`, `message` events). */
  readonly ipc?: boolean;
  /**
   * Run on every CPU rather than pinned to the servers' one: a responder's
   * ONNX session thread then has a core besides its request thread, as a
   * two-core replica would; the load generator stays pinned and shares the
   * second CPU with it.
   */
  readonly allCpus?: boolean;
}

export interface RunningChild {
  readonly url: string;
  readonly process: ChildProcess;
  /** CPU time the child used so far, all threads, in seconds; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  /** What it wrote to stderr, the last 4,000 characters. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * The share of the last 60 s in which some runnable task waited for a CPU
 * (Linux pressure stall information), in %: how much the machine's other
 * work competed with the bench; undefined where /proc/pressure is missing.
 */
export function cpuPressure(): number | undefined {
  try {
    const match = /^some .*avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export async function startChild(command: ChildCommand): Promise<RunningChild> {
  const [file, args] = command.allCpus ? everyCpuNode(command.args) : pinnedNode(command.args);
  const child = spawn(file, args, {
    env: { ...process.env, RECSTREAM_LOG_LEVEL: 'warn', ...command.env },
    stdio: command.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const timeoutMs = command.readyTimeoutMs ?? 120_000;
  const deadline = performance.now() + timeoutMs;
  const running: RunningChild = {
    url: '',
    process: child,
    // Under taskset the child's pid is node's own: taskset execs it.
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    stderr: () => stderr,
    stop: () => stop(child, exited),
  };
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`not listening within ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1]!);
        }
      });
      exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) before listening`));
      });
    });
    if (command.readyPath !== undefined) await waitReady(new URL(command.readyPath, url), deadline, exited);
    return { ...running, url };
  } catch (error) {
    await running.stop();
    throw new Error(`${command.args.join(' ')}: ${(error as Error).message}: ${stderr.slice(-2000)}`);
  }
}

async function waitReady(url: URL, deadline: number, exited: Promise<number | null>): Promise<void> {
  let gone = false;
  exited.then(() => (gone = true));
  while (performance.now() < deadline && !gone) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(gone ? 'exited before it was ready' : `${url} did not answer 200 in time`);
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
