/**
 * Runs the training engine (`models/recstream_models`, Python + PyTorch) as
 * a child process and streams its JSON-lines progress (models/FORMAT.md) to
 * a callback: the trainer turns it into logs, metrics and a progress line.
 *
 * The interpreter is `RECSTREAM_PYTHON`, else the first of `python3` on the
 * PATH and `/usr/bin/python3` that imports torch and numpy (Debian's
 * `python3-torch` installs them for the system interpreter, which is often
 * not the first `python3` on the PATH).
 *
 * @example
 * ```ts
 * const python = await findPython(config.python);
 * const result = await runEngine({ python, dataset, out, config: { epochs: 5 }, onEvent: console.log });
 * ```
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TrainingError } from './errors.js';

/** The folder that holds the `recstream_models` package. */
export const MODELS_DIR = fileURLToPath(new URL('../../models', import.meta.url));

/** One progress line of the engine. */
export interface EngineEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

const INSTALL_HINT =
  'install PyTorch for Python 3: on Debian/Ubuntu `sudo apt-get install python3-torch libopenblas0-pthread` ' +
  '(or run scripts/setup.sh), or point RECSTREAM_PYTHON at an interpreter that can `import torch, numpy`';

function probe(python: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(python, ['-c', 'import torch, numpy; print(torch.__version__)'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? out.trim() : undefined));
  });
}

/**
 * The interpreter to train with.
 *
 * @throws TrainingError (code TRAINER_PYTHON_MISSING) saying what to install
 */
export async function findPython(configured: string | undefined): Promise<{ python: string; torch: string }> {
  if (configured !== undefined) {
    const torch = await probe(configured);
    if (torch === undefined)
      throw new TrainingError(
        `RECSTREAM_PYTHON=${configured} cannot import torch and numpy; ${INSTALL_HINT}`,
        {
          code: 'TRAINER_PYTHON_MISSING',
        },
      );
    return { python: configured, torch };
  }
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const torch = await probe(candidate);
    if (torch !== undefined) return { python: candidate, torch };
  }
  throw new TrainingError(`no Python interpreter with torch and numpy was found; ${INSTALL_HINT}`, {
    code: 'TRAINER_PYTHON_MISSING',
  });
}

export interface EngineRun {
  readonly python: string;
  readonly dataset: string;
  readonly out: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** Artifact directory of the promoted model, evaluated on the holdout events it never trained on. */
  readonly previous?: string;
  /** The sha256 of each file of `previous`, by name, as its version lists them: the engine checks each file as it reads it. */
  readonly previousSha256?: Readonly<Record<string, string>>;
  readonly device?: string;
  readonly onEvent?: (event: EngineEvent) => void;
  readonly signal?: AbortSignal;
}

export interface EngineResult {
  readonly events: readonly EngineEvent[];
  readonly start: EngineEvent | undefined;
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * Trains once. Resolves when the engine exited 0 with its artifacts written.
 *
 * @throws TrainingError with the engine's own error message when it fails
 */
export function runEngine(run: EngineRun): Promise<EngineResult> {
  const args = ['-m', 'recstream_models', 'train', '--dataset', run.dataset, '--out', run.out];
  args.push('--config', JSON.stringify(run.config));
  if (run.previous) args.push('--previous', run.previous);
  if (run.previous && run.previousSha256) args.push('--previous-sha256', JSON.stringify(run.previousSha256));
  const env = {
    ...process.env,
    PYTHONPATH: [MODELS_DIR, process.env.PYTHONPATH].filter(Boolean).join(':'),
    PYTHONUNBUFFERED: '1',
    ...(run.device ? { RECSTREAM_DEVICE: run.device } : {}),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(run.python, args, { env, stdio: ['ignore', 'pipe', 'pipe'], signal: run.signal });
    const events: EngineEvent[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let event: EngineEvent;
      try {
        event = JSON.parse(line) as EngineEvent;
      } catch {
        return;
      }
      if (typeof event !== 'object' || event === null || typeof event.event !== 'string') return;
      events.push(event);
      run.onEvent?.(event);
    });
    child.on('error', (error) =>
      reject(
        new TrainingError(`the training engine could not start: ${error.message}`, {
          cause: error,
          retriable: true,
        }),
      ),
    );
    child.on('close', (code, signal) => {
      const error = events.find((e) => e.event === 'error');
      if (code === 0 && !error) {
        const metrics = events.filter((e) => e.event === 'metrics').at(-1)?.metrics as
          | Record<string, number>
          | undefined;
        resolve({ events, start: events.find((e) => e.event === 'start'), metrics: metrics ?? {} });
        return;
      }
      const why =
        typeof error?.message === 'string'
          ? error.message
          : `exited with ${signal ? `signal ${signal}` : `code ${code}`}${stderr ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : ''}`;
      reject(new TrainingError(`the training engine failed: ${why}`, { retriable: error === undefined }));
    });
  });
}
