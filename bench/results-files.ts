/**
 * The committed results: `bench/results/<set>.json` holds a result set's
 * latest run (an array of results), `bench/results/history/<set>.jsonl`
 * every run's results, one JSON result a line, oldest first. A set is
 * named after its file: a suite's name, or another name for figures no
 * suite wrote (`train-cuda`, measured by hand).
 *
 * @example
 * ```ts
 * await writeResults(RESULTS_DIR, 'log', results, captureRun(PACKAGE_ROOT));
 * const sets = await readResultSets(RESULTS_DIR);
 * ```
 */
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRecorded, stamp } from './provenance.js';
import type { BenchResult, Provenance, RecordedResult } from './result.js';

/** The package root, whether run from dist/ or a checkout's build. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RESULTS_DIR = join(PACKAGE_ROOT, 'bench', 'results');

/** One result set: its latest run and its history. */
export interface ResultSet {
  readonly name: string;
  readonly latest: readonly RecordedResult[];
  readonly history: readonly RecordedResult[];
}

/** `<resultsDir>/history/<set>.jsonl` */
export function historyPath(resultsDir: string, set: string): string {
  return join(resultsDir, 'history', `${set}.jsonl`);
}

/**
 * Writes `results` as the set's latest run and appends the ones measured now to its history.
 * A result that already carries its provenance (kept from an earlier run) keeps it and is not
 * appended again: the history holds each measurement once. A kept result must be a row of the
 * history as it stands, so no run can write a provenance that no run recorded.
 */
export async function writeResults(
  resultsDir: string,
  set: string,
  results: readonly (BenchResult | RecordedResult)[],
  run: Provenance,
): Promise<string> {
  const inHistory = new Set((await readHistory(resultsDir, set)).map((row) => JSON.stringify(row)));
  const fresh: RecordedResult[] = [];
  const latest = results.map((result) => {
    if (isRecorded(result)) {
      if (!inHistory.has(JSON.stringify(result)))
        throw new Error(
          `${set}/${result.name}: a kept result (ts ${result.ts}) is not a row of ${historyPath(resultsDir, set)}: ` +
            'its provenance was not recorded by a run',
        );
      return result;
    }
    const recorded = stamp(result, run);
    fresh.push(recorded);
    return recorded;
  });
  await mkdir(join(resultsDir, 'history'), { recursive: true });
  const path = join(resultsDir, `${set}.json`);
  await writeFile(path, `${JSON.stringify(latest, null, 2)}\n`);
  if (fresh.length > 0)
    await appendFile(historyPath(resultsDir, set), fresh.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return path;
}

async function readHistory(resultsDir: string, set: string): Promise<RecordedResult[]> {
  let text: string;
  try {
    text = await readFile(historyPath(resultsDir, set), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as RecordedResult);
}

/** Every result set in `resultsDir`, by name. */
export async function readResultSets(resultsDir: string): Promise<ResultSet[]> {
  const names = (await readdir(resultsDir))
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      latest: JSON.parse(await readFile(join(resultsDir, `${name}.json`), 'utf8')) as RecordedResult[],
      history: await readHistory(resultsDir, name),
    })),
  );
}
