/**
 * What an import did, for the command's output (`--json` prints it as is)
 * and for callers of `runImport`.
 *
 * @example
 * ```ts
 * const report = await runImport(platform, source);
 * console.log(report.interactions, report.bad_lines, report.bad[0]?.line);
 * ```
 */
import type { SourceFile } from './source.js';

/** At most this many bad lines are listed in a report; all of them are counted and dead-lettered. */
export const MAX_LISTED_BAD_LINES = 1000;

export interface BadLine {
  readonly file: string;
  readonly line: number;
  /** The field at fault as the output schema names it, or `line` for the line as a whole. */
  readonly field: string | null;
  readonly reason: string;
}

export interface ImportReport {
  readonly format: string;
  readonly files: readonly SourceFile[];
  /** Interactions written to rec.interactions. */
  readonly interactions: number;
  /** Items written to rec.items: from metadata files, and minimal ones for ids seen only in interactions. */
  readonly items: { readonly metadata: number; readonly minimal: number };
  readonly users: { readonly metadata: number; readonly minimal: number };
  /** Lines refused, each with its file and line number (the first MAX_LISTED_BAD_LINES in `bad`). */
  readonly bad_lines: number;
  readonly bad: readonly BadLine[];
  /** Letters written to rec.dlq: one per bad line. */
  readonly dead_letters: number;
  readonly seconds: number;
}
