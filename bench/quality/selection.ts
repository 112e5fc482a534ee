/**
 * Which data sets a `quality` run covers: `RECSTREAM_QUALITY_DATASETS`
 * (a comma-separated list) names some; the rows of the others are kept as
 * they were in `bench/results/quality.json`, so the file still holds every
 * data set, each row with the provenance of the run that measured it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordedResult } from '../result.js';
import { RESULTS_DIR } from '../results-files.js';

/** The suite's results file (what `recstream bench` writes). */
const RESULTS_FILE = join(RESULTS_DIR, 'quality.json');
export const DATASETS = ['synthetic', 'lastfm', 'ml-1m', 'ml-100k', 'closed-loop'];

/** The data sets `RECSTREAM_QUALITY_DATASETS` names (all when unset). */
export function selectedDatasets(): Set<string> {
  const named = (process.env.RECSTREAM_QUALITY_DATASETS ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  const unknown = named.filter((d) => !DATASETS.includes(d));
  if (unknown.length)
    throw new RangeError(
      `RECSTREAM_QUALITY_DATASETS: unknown data set(s) ${unknown.join(', ')}; known: ${DATASETS.join(', ')}`,
    );
  return new Set(named.length ? named : DATASETS);
}

/** The rows of the data sets not run this time, from the results file as it was. */
export async function keptRows(run: Set<string>): Promise<RecordedResult[]> {
  if (!existsSync(RESULTS_FILE)) return [];
  const previous = JSON.parse(await readFile(RESULTS_FILE, 'utf8')) as RecordedResult[];
  return previous.filter((row) => !run.has(String(row.config.dataset)));
}
