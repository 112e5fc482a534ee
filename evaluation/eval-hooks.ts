/**
 * How an evaluation run tells its caller what it does: one-line notes,
 * progress lines per step, and the training engine's events.
 *
 * @example
 * ```ts
 * const hooks: EvalHooks = { note: console.log, progress: (label, total) => new Progress(label, total) };
 * ```
 */
import type { EngineEvent } from '../trainer/engine.js';

/** A progress line of one step (cli/progress.ts's Progress has this shape). */
export interface ProgressLine {
  update(done: number, extra?: Record<string, string | number>): void;
  done(extra?: Record<string, string | number>): void;
}

/** The caller's side of an evaluation run. */
export interface EvalHooks {
  /** One line of what happens (found an import, trained, indexed…). */
  note(line: string): void;
  progress(label: string, total: number | undefined): ProgressLine;
  onEngineEvent?: (event: EngineEvent) => void;
}
