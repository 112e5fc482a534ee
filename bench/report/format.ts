/**
 * How the benchmark report writes results down: numbers, references,
 * runs and machines, and Markdown tables (which settings it shows:
 * settings.ts).
 */
import type { Machine, RecordedResult } from '../result.js';

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
