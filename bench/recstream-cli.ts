/**
 * Runs the compiled `recstream` command in a child process for suites that
 * measure whole commands (a pipeline built the way an operator builds it).
 *
 * @example
 * ```ts
 * const out = await recstream(['import', 'lines', 'train.txt', '--data-dir', dir]);
 * ```
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Resolves with stdout when the command exits 0; rejects with the tail of stderr otherwise. */
export function recstream(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, RECSTREAM_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`recstream ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}
