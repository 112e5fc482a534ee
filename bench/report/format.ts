/**
 * How the benchmark report writes results down: numbers, references,
 * variants (what tells rows of the same name apart), config summaries,
 * runs and machines, and Markdown tables.
 */
import type { Machine, RecordedResult } from '../result.js';

/** Config keys that tell apart rows of the same name in a result set (data set, model, estimator, device, size). */
const VARIANT_KEYS = ['dataset', 'model', 'estimator', 'device', 'events', 'examples', 'engine'];
/** Config entries the summary leaves out: per-run lists and long notes that a reader finds in the file. */
const SUMMARY_SKIP = new Set(['all', 'measured']);
const SUMMARY_ENTRIES = 6;
const SUMMARY_VALUE_CHARS = 40;

/** Up to six significant digits, with thousands separators. */
export function formatNumber(value: number): string {
  return value.toLocaleString('en-US', { maximumSignificantDigits: 6 });
}

/** The value with its unit; a ratio (recall, AUC, …) goes without one. */
export function formatValue(result: RecordedResult): string {
  return result.unit === 'ratio'
    ? formatNumber(result.value)
    : `${formatNumber(result.value)} ${result.unit}`;
}

/** `name value` of the reference measured in the same run, or nothing. */
export function formatReference(result: RecordedResult): string {
  if (!result.reference) return '';
  return `${result.reference.name} ${formatNumber(result.reference.value)}`;
}

/** `×ratio` (value over reference), or nothing where there is no reference. */
export function formatRatio(result: RecordedResult): string {
  if (!result.reference) return '';
  // A reference of 0 gives an infinite ratio, which JSON writes as null.
  return typeof result.ratio === 'number' ? `×${formatNumber(result.ratio)}` : 'n/a';
}

/** The variant keys with more than one value among `results` (one result set's rows). */
export function variantKeys(results: readonly RecordedResult[]): string[] {
  return VARIANT_KEYS.filter((key) => {
    const values = results.map((r) => r.config[key]).filter((value) => value !== undefined);
    return new Set(values.map((value) => JSON.stringify(value))).size > 1;
  });
}

/** `key=value, …` of the variant keys a result has. */
export function formatVariant(result: RecordedResult, keys: readonly string[]): string {
  return keys
    .filter((key) => result.config[key] !== undefined)
    .map((key) => `${key}=${String(result.config[key])}`)
    .join(', ');
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return undefined;
  return value.length > SUMMARY_VALUE_CHARS ? `${value.slice(0, SUMMARY_VALUE_CHARS - 1)}…` : value;
}

/**
 * The first scalar settings of a result's config other than its variant (`variant`), `runs` first:
 * how often it was repeated (the value is their median).
 */
export function summariseConfig(
  config: Readonly<Record<string, unknown>>,
  variant: readonly string[],
): string {
  const entries = Object.entries(config)
    .filter(([key]) => !SUMMARY_SKIP.has(key) && !variant.includes(key))
    .flatMap(([key, value]) => {
      const text = scalar(value);
      return text === undefined ? [] : [[key, text] as const];
    })
    .sort(([a], [b]) => Number(b === 'runs') - Number(a === 'runs'));
  const shown = entries.slice(0, SUMMARY_ENTRIES).map(([key, text]) => `${key}=${text}`);
  if (entries.length > SUMMARY_ENTRIES) shown.push('…');
  return shown.join(', ');
}

/** `2026-11-23 14:42 UTC` */
export function formatWhen(ts: string | undefined): string {
  if (!ts) return 'unknown';
  const date = new Date(ts);
  return Number.isNaN(date.getTime()) ? ts : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The short commit, `(dirty)` where the code differed from it, `(edited)` where it was changed
 * after the run (so it is not what the run saw), or `unknown`.
 */
export function formatCommit(result: RecordedResult): string {
  if (!result.commit) return 'unknown';
  const short = `\`${result.commit.slice(0, 7)}\``;
  if (result.provenance_edited) return `${short} (edited)`;
  if (result.dirty === true) return `${short} (dirty)`;
  return short;
}

/** What was recorded of the machine, in words; `unknown` where nothing was. */
export function formatMachine(machine: Machine | undefined): string {
  if (!machine) return 'unknown';
  const parts = [
    machine.cpu ?? undefined,
    machine.cores === null ? undefined : `${machine.cores} cores`,
    machine.memory_gib === null ? undefined : `${formatNumber(machine.memory_gib)} GiB`,
    machine.load_avg_1m === null ? undefined : `load ${formatNumber(machine.load_avg_1m)}`,
    machine.node === null ? undefined : `Node.js ${machine.node}`,
    machine.device,
  ].filter((part): part is string => part !== undefined);
  return parts.length > 0 ? parts.join(', ') : 'unknown';
}

/** What identifies the run a result came from: results of one run share it. */
export function runKey(result: RecordedResult): string {
  return JSON.stringify([
    result.ts,
    result.commit,
    result.machine,
    result.measured_by,
    result.note,
    result.provenance_edited,
  ]);
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** A Markdown table; `|` and line breaks in cells are escaped. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}
