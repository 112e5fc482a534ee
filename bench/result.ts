/**
 * Benchmark result format (DESIGN.md §10): each suite writes an array of
 * these to `bench/results/<suite>.json` and prints them as a table.
 *
 * @example
 * ```ts
 * const results = [metric('log', 'append_records_per_s', 412_000, 'records/s', true, { records: 1e6 })];
 * await writeResults('log', results);
 * ```
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BenchResult {
  readonly suite: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly higher_is_better: boolean;
  readonly config: Readonly<Record<string, unknown>>;
  readonly reference?: { readonly name: string; readonly value: number };
  readonly ratio?: number;
}

export type Scale = 'small' | 'full';

/** What every suite receives. */
export interface SuiteOptions {
  readonly scale: Scale;
  /** A scratch directory the suite may fill and that is removed afterwards. */
  readonly workDir: string;
  /** Progress lines for a person; suites must not print results themselves. */
  readonly progress: (message: string) => void;
}

export type Suite = (options: SuiteOptions) => Promise<BenchResult[]>;

export function metric(
  suite: string,
  name: string,
  value: number,
  unit: string,
  higherIsBetter: boolean,
  config: Record<string, unknown>,
  reference?: { name: string; value: number },
): BenchResult {
  const result: BenchResult = {
    suite,
    name,
    value: round(value),
    unit,
    higher_is_better: higherIsBetter,
    config,
  };
  if (!reference) return result;
  return {
    ...result,
    reference: { name: reference.name, value: round(reference.value) },
    ratio: round(value / reference.value),
  };
}

/** Median of repeated measurements: the figure we quote, robust to one noisy run. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(4));
}

export async function writeResults(
  resultsDir: string,
  suite: string,
  results: readonly BenchResult[],
): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const path = join(resultsDir, `${suite}.json`);
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
  return path;
}

export function formatTable(results: readonly BenchResult[]): string {
  const rows = results.map((r) => [
    r.suite,
    r.name,
    r.value.toLocaleString('en-US'),
    r.unit,
    r.reference ? `${r.reference.name}=${r.reference.value.toLocaleString('en-US')} (x${r.ratio})` : '',
  ]);
  const header = ['suite', 'name', 'value', 'unit', 'reference'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
