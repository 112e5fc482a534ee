/**
 * Benchmark result format: each suite returns an array of these; `recstream
 * bench` adds when, on what commit and on what machine they were measured
 * (`Provenance`, bench/provenance.ts), writes them to
 * `bench/results/<suite>.json` (the latest run) and appends them to
 * `bench/results/history/<suite>.jsonl` (bench/results-files.ts).
 *
 * @example
 * ```ts
 * const results = [metric('log', 'append_records_per_s', 412_000, 'records/s', true, { records: 1e6 })];
 * await writeResults(RESULTS_DIR, 'log', results, captureRun(PACKAGE_ROOT));
 * ```
 */

/** One figure as a suite measures it. */
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

/** The machine a result was measured on; `null` where it was not recorded. */
export interface Machine {
  readonly cpu: string | null;
  readonly cores: number | null;
  /** 1-minute load average when the suite started: other work on the machine takes CPU from the run. */
  readonly load_avg_1m: number | null;
  readonly memory_gib: number | null;
  readonly node: string | null;
  /** The training device, for results whose config names one (`config.device`). */
  readonly device?: string;
}

/** When, on what code and where a result was measured. */
export interface Provenance {
  /** ISO time the suite started. */
  readonly ts: string;
  /** `git rev-parse HEAD` of the checkout; `null` where there was none (then `note` says why). */
  readonly commit: string | null;
  /** Whether files other than bench/results and Markdown differed from `commit`; `null` where unknown. */
  readonly dirty: boolean | null;
  readonly machine: Machine;
  /**
   * Set only where the row is not simply what a suite recorded: `hand`, measured by a person and
   * typed in (`note` says how); `suite`, a suite's figure whose provenance was changed after the
   * run (`provenance_edited` says what changed).
   */
  readonly measured_by?: 'hand' | 'suite';
  /** What was changed in this row's provenance after the run, and by which commit. */
  readonly provenance_edited?: string;
  /** What a reader of the figure needs to know about how it was recorded. */
  readonly note?: string;
}

/** A result as committed: the suite's figure and its provenance. */
export type RecordedResult = BenchResult & Provenance;

export type Scale = 'small' | 'full';

/** What every suite receives. */
export interface SuiteOptions {
  readonly scale: Scale;
  /** A scratch directory the suite may fill and that is removed afterwards. */
  readonly workDir: string;
  /** Progress lines for a person; suites must not print results themselves. */
  readonly progress: (message: string) => void;
  /**
   * `--cpu-profile DIR`: a suite that supports it writes a CPU profile of each application's
   * first run there (`bench/cpu-profile.ts`); the figures of a profiled run are slower.
   */
  readonly cpuProfileDir?: string;
  /** `--threads 1,2,…`: the stream-thread counts a suite that supports it compares (the `threads` suite). */
  readonly threads?: readonly number[];
}

/**
 * A suite measures and returns its results; `recstream bench` records them. A result the suite
 * kept from an earlier run (a `RecordedResult`) keeps that run's provenance.
 */
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
