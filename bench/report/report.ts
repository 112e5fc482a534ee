/**
 * `recstream bench report`: regenerates `docs/benchmarks.md` and the
 * README's headline block from `bench/results/`. The same texts are what
 * bench/report.test.ts compares with the committed files, so a result
 * committed without its report fails the tests.
 *
 * @example
 * ```ts
 * const written = await writeReport(PACKAGE_ROOT);
 * ```
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readResultSets } from '../results-files.js';
import { headlineTable, replaceHeadline } from './headline.js';
import { benchmarksPage } from './page.js';

/** The files a report writes, relative to the package root, with their text. */
export interface ReportFiles {
  readonly 'docs/benchmarks.md': string;
  /** Absent where README.md has no headline markers (or no README.md). */
  readonly 'README.md'?: string;
}

/** The report's files as they would be written from the results under `root`. */
export async function renderReport(root: string): Promise<ReportFiles> {
  const sets = await readResultSets(join(root, 'bench', 'results'));
  const page = benchmarksPage(sets);
  const readmePath = join(root, 'README.md');
  const readme = existsSync(readmePath)
    ? replaceHeadline(await readFile(readmePath, 'utf8'), headlineTable(sets))
    : undefined;
  return readme === undefined
    ? { 'docs/benchmarks.md': page }
    : { 'docs/benchmarks.md': page, 'README.md': readme };
}

/** Writes the report under `root`; returns the paths written. */
export async function writeReport(root: string): Promise<string[]> {
  const files = await renderReport(root);
  const written: string[] = [];
  for (const [relative, text] of Object.entries(files)) {
    const path = join(root, relative);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    written.push(path);
  }
  return written;
}
