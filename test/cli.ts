/**
 * Runs the compiled `recstream` command as a child process, the way an
 * operator would, for tests that need a separate process (crash tests).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../cli/main.js');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Commands still running once every test of the file is over: killed, so a
 * test that timed out leaves no command behind to hold a port, a data dir's
 * lock or a CPU, nor the file's process open (the test runner waits for it
 * to exit).
 */
const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

export function startCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, RECSTREAM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolveResult, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolveResult({ code, signal, stdout, stderr }));
  });
}

export async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return finished(startCli(args, env));
}

/** Runs the command and fails the test, naming the command and its stderr, unless it exits 0. */
export async function runCliOk(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const result = await runCli(args, env);
  assert.equal(result.code, 0, `recstream ${args.join(' ')}: ${result.stderr}`);
  return result;
}

/** `recstream state digest --json` of each application, merged: `<store>/<partition>` → sha256. */
export async function stateDigests(
  dataDir: string,
  apps: readonly string[],
  env: Record<string, string> = {},
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const app of apps) {
    const { stdout } = await runCliOk(
      ['state', 'digest', '--app', app, '--json', '--data-dir', dataDir],
      env,
    );
    Object.assign(out, JSON.parse(stdout).stores);
  }
  return out;
}

/**
 * Runs `recstream process --app APP` on `dataDir` (logging at info), waits
 * until it has announced itself in the control dir, runs `fn` beside it,
 * then stops it with SIGTERM; it must exit 0.
 */
export async function besideRunningProcess<T>(
  dataDir: string,
  app: string,
  env: Record<string, string>,
  fn: () => Promise<T>,
): Promise<{ value: T; process: CliResult }> {
  const child = startCli(['process', '--app', app, '--data-dir', dataDir], {
    ...env,
    RECSTREAM_LOG_LEVEL: 'info',
  });
  const done = finished(child);
  let value: T;
  try {
    const announced = join(dataDir, 'control', app, 'runner.json');
    for (let i = 0; i < 200 && !(await pathExists(announced)); i++)
      await new Promise((r) => setTimeout(r, 50));
    value = await fn();
  } finally {
    child.kill('SIGTERM');
  }
  const result = await done;
  assert.equal(result.code, 0, result.stderr);
  return { value, process: result };
}

/** Whether a file or directory exists at `path`. */
export function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
