/**
 * What `recstream bench` records of a run beside its figures: the time,
 * the commit of the checkout (and whether the code differed from it), and
 * the machine. A figure without these cannot be compared with a later one.
 *
 * @example
 * ```ts
 * const run = captureRun(PACKAGE_ROOT);
 * const recorded = results.map((r) => stamp(r, run));
 * ```
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import type { BenchResult, Machine, Provenance, RecordedResult } from './result.js';

/**
 * What a run and its report write, and prose: changes there do not change what is measured, so
 * they do not make the checkout dirty.
 */
const NOT_CODE = [':(exclude)bench/results', ':(exclude)*.md'];

interface GitState {
  readonly commit: string | null;
  readonly dirty: boolean | null;
  readonly note?: string;
}

function git(repoDir: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd: repoDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function gitState(repoDir: string): GitState {
  try {
    const commit = git(repoDir, ['rev-parse', 'HEAD']).trim();
    const changes = git(repoDir, ['status', '--porcelain', '--', '.', ...NOT_CODE]).trim();
    return { commit, dirty: changes.length > 0 };
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      commit: null,
      dirty: null,
      note: missing ? 'git not found: commit unknown' : `${repoDir} is not a git checkout: commit unknown`,
    };
  }
}

/** This machine, now. */
export function thisMachine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() || null,
    cores: list.length,
    load_avg_1m: Math.round(loadavg()[0]! * 100) / 100,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
  };
}

/** The provenance of a run starting now in the checkout at `repoDir`. */
export function captureRun(repoDir: string): Provenance {
  const { note, ...state } = gitState(repoDir);
  return { ts: new Date().toISOString(), ...state, machine: thisMachine(), ...(note ? { note } : {}) };
}

/** `result` with `run`'s provenance; a result naming a training device (`config.device`) records it with the machine. */
export function stamp(result: BenchResult, run: Provenance): RecordedResult {
  const device = result.config.device;
  const machine = typeof device === 'string' ? { ...run.machine, device } : run.machine;
  return { ...result, ...run, machine };
}

/** Whether `result` already carries its provenance (a row a suite kept from an earlier run). */
export function isRecorded(result: BenchResult | RecordedResult): result is RecordedResult {
  return typeof (result as Partial<RecordedResult>).ts === 'string';
}
