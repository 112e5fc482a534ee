/**
 * Checks the committed results against git: a row's commit must be one the
 * run could have been on (committed before the run began, in HEAD's
 * history), and no commit may have changed a row once it was committed.
 * A row whose provenance breaks either rule says so: `measured_by` and why
 * (`note` for a figure typed in, `provenance_edited` for a suite's figure
 * whose provenance was changed afterwards, naming the commit that did it).
 *
 * Git is required: without it, or in a shallow clone, these checks throw
 * rather than pass.
 *
 * @example
 * ```ts
 * const problems = commitProblems(PACKAGE_ROOT, row);
 * const edits = rowEdits(PACKAGE_ROOT, 'bench/results/history/quality.jsonl');
 * ```
 */
import { spawnSync } from 'node:child_process';
import type { RecordedResult } from './result.js';

/** Fields a later commit may add to a row: marking its provenance changes nothing that was measured. */
export const MARK_FIELDS: readonly string[] = ['measured_by', 'provenance_edited'];

/** A change a commit made to a row that was already committed. */
export interface RowEdit {
  readonly commit: string;
  /** 1-based line of the row in the file. */
  readonly line: number;
  readonly fields: readonly string[];
}

function git(
  repoDir: string,
  args: readonly string[],
): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('git', args, { cwd: repoDir, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.error)
    throw new Error(`git ${args[0]} could not run (${run.error.message}): provenance cannot be checked`);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function gitOut(repoDir: string, args: readonly string[]): string {
  const run = git(repoDir, args);
  if (run.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${run.stderr.trim()}`);
  return run.stdout;
}

/** Throws unless `repoDir` is a git checkout with its whole history. */
export function requireFullHistory(repoDir: string): void {
  const shallow = gitOut(repoDir, ['rev-parse', '--is-shallow-repository']).trim();
  if (shallow !== 'false')
    throw new Error(
      `${repoDir} is a shallow clone: run \`git fetch --unshallow\` to check the results' commits`,
    );
}

/** What is wrong with `row`'s commit, or nothing: it must exist, be in HEAD's history and predate the run. */
export function commitProblems(repoDir: string, row: RecordedResult): string[] {
  if (row.commit === null) return [];
  if (git(repoDir, ['cat-file', '-e', `${row.commit}^{commit}`]).status !== 0)
    return [`commit ${row.commit} is not in this repository`];
  const problems: string[] = [];
  const ancestor = git(repoDir, ['merge-base', '--is-ancestor', row.commit, 'HEAD']);
  if (ancestor.status === 1) problems.push(`commit ${row.commit.slice(0, 7)} is not in HEAD's history`);
  else if (ancestor.status !== 0) throw new Error(`git merge-base failed: ${ancestor.stderr.trim()}`);
  const committed = gitOut(repoDir, ['show', '-s', '--format=%cI', row.commit]).trim();
  if (Date.parse(committed) > Date.parse(row.ts))
    problems.push(
      `commit ${row.commit.slice(0, 7)} was committed at ${committed}, after the run began at ${row.ts}`,
    );
  return problems;
}

/** Whether `row` says who measured it and why its provenance is not what a suite recorded. */
export function isMarked(row: RecordedResult): boolean {
  const why = row.provenance_edited ?? row.note;
  return row.measured_by !== undefined && typeof why === 'string' && why.trim().length > 0;
}

function rows(text: string): string[] {
  return text.split('\n').filter((line) => line.trim());
}

function changedFields(before: string, after: string): string[] {
  let old: Record<string, unknown>;
  let now: Record<string, unknown>;
  try {
    old = JSON.parse(before);
    now = JSON.parse(after);
  } catch {
    return ['(the whole line)'];
  }
  const keys = new Set([...Object.keys(old), ...Object.keys(now)]);
  return [...keys].filter(
    (key) => !MARK_FIELDS.includes(key) && JSON.stringify(old[key]) !== JSON.stringify(now[key]),
  );
}

/**
 * Every change a commit in HEAD's history made to a row of `file` (a path in the repository) that
 * an earlier commit had written: a history only grows, so these are edits made by hand. Adding
 * `MARK_FIELDS` to a row is not a change.
 */
export function rowEdits(repoDir: string, file: string): RowEdit[] {
  const commits = rows(
    gitOut(repoDir, ['log', '--no-merges', '--reverse', '--format=%H', 'HEAD', '--', file]),
  );
  const edits: RowEdit[] = [];
  for (const commit of commits) {
    const parent = git(repoDir, ['show', `${commit}^:${file}`]);
    if (parent.status !== 0) continue;
    const before = rows(parent.stdout);
    const after = rows(gitOut(repoDir, ['show', `${commit}:${file}`]));
    before.forEach((line, i) => {
      const now = after[i];
      if (now === line) return;
      const fields = now === undefined ? ['(row removed)'] : changedFields(line, now);
      if (fields.length > 0) edits.push({ commit, line: i + 1, fields });
    });
  }
  return edits;
}

/** `git ls-files` of `path`: the files of it that HEAD's history can speak for. */
export function trackedFiles(repoDir: string, path: string): string[] {
  return rows(gitOut(repoDir, ['ls-files', '--', path]));
}
