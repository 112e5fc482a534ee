/**
 * The committed results' provenance agrees with git: each row names a
 * commit in HEAD's history committed before its run began, and no commit
 * changed a row after it was committed, unless the row says so
 * (`measured_by` and why). Needs git and the whole history; fails otherwise.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { commitProblems, isMarked, requireFullHistory, rowEdits, trackedFiles } from './history-audit.js';
import type { RecordedResult } from './result.js';
import { PACKAGE_ROOT } from './results-files.js';

const RESULTS = 'bench/results';

async function committedRows(file: string): Promise<RecordedResult[]> {
  const text = await readFile(join(PACKAGE_ROOT, file), 'utf8');
  if (file.endsWith('.json')) return JSON.parse(text) as RecordedResult[];
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as RecordedResult);
}

function resultFiles(): string[] {
  return trackedFiles(PACKAGE_ROOT, RESULTS).filter((f) => f.endsWith('.json') || f.endsWith('.jsonl'));
}

describe('results provenance against git', () => {
  test('the checkout has git and its whole history', () => {
    requireFullHistory(PACKAGE_ROOT);
    assert.ok(resultFiles().length > 0, `git tracks no files under ${RESULTS}`);
  });

  test('every row names a commit in HEAD history committed before its run began, or says why not', async () => {
    requireFullHistory(PACKAGE_ROOT);
    const checked = new Map<string, string[]>();
    const failures: string[] = [];
    for (const file of resultFiles()) {
      for (const [i, row] of (await committedRows(file)).entries()) {
        const key = `${row.commit}@${row.ts}`;
        if (!checked.has(key)) checked.set(key, commitProblems(PACKAGE_ROOT, row));
        const problems = checked.get(key)!;
        if (problems.length > 0 && !isMarked(row))
          failures.push(`${file}:${i + 1} ${row.name}: ${problems.join('; ')}`);
      }
    }
    assert.deepEqual(
      failures,
      [],
      'mark such a row with `measured_by` and why, never change its ts or commit',
    );
  });

  test('no commit changed a history row once committed, unless the row names that commit', async () => {
    requireFullHistory(PACKAGE_ROOT);
    const failures: string[] = [];
    for (const file of resultFiles().filter((f) => f.endsWith('.jsonl'))) {
      const now = await committedRows(file);
      for (const edit of rowEdits(PACKAGE_ROOT, file)) {
        const row = now[edit.line - 1];
        const named = row?.provenance_edited?.includes(edit.commit.slice(0, 7)) && isMarked(row);
        if (!named)
          failures.push(`${file}:${edit.line}: ${edit.commit.slice(0, 7)} changed ${edit.fields.join(', ')}`);
      }
    }
    assert.deepEqual(failures, [], 'a history row is written once, by `recstream bench`');
  });
});
