/**
 * Which settings (config entries) of its rows a table of the benchmark
 * report shows, and where: the ones every row shares once above the table,
 * the ones that tell a row apart from the other rows of its name in the
 * row's `variant` cell, in full, and the first few others in its `config`
 * cell. Only scalar settings are shown; lists and objects (per-run timings,
 * intervals) stay in the result files.
 *
 * @example
 * ```ts
 * const shared = commonKeys(rows); // ['model', 'items', 'k']
 * const variants = variantsByName(rows); // Map { 'search_us' => ['kind', 'expansion'] }
 * ```
 */
import type { RecordedResult } from '../result.js';
import { formatNumber } from './format.js';

/**
 * Settings a reader names rows by (data set, model, estimator, device, size, engine): tried first,
 * and shown wherever they change, also between runs, where rows are otherwise told apart by date.
 */
const NAMING_KEYS = ['dataset', 'model', 'estimator', 'device', 'events', 'examples', 'engine'];
/** Settings never shown: per-run lists and long notes that a reader finds in the file. */
const SKIP = new Set(['all', 'measured']);
const SUMMARY_ENTRIES = 6;
const SUMMARY_VALUE_CHARS = 40;

type Scalar = string | number | boolean;

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** Keys whose values, where `rows` have them, are all scalar; in the order they first appear. */
function scalarKeys(rows: readonly RecordedResult[]): string[] {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.config)))];
  return keys.filter(
    (key) => !SKIP.has(key) && rows.every((r) => r.config[key] === undefined || isScalar(r.config[key])),
  );
}

/** How many rows are told apart by their run and `keys`. */
function distinct(
  rows: readonly RecordedResult[],
  keys: readonly string[],
  runOf: (result: RecordedResult) => string,
): number {
  // `null` stands for an absent key, so a row without a setting differs from one with it.
  return new Set(rows.map((r) => JSON.stringify([runOf(r), ...keys.map((k) => r.config[k] ?? null)]))).size;
}

/** For rows that are all of one run, or where runs do not tell rows apart. */
const oneRun = (): string => '';

/**
 * The scalar settings every one of `rows` has, with one value among them all.
 *
 * @example
 * ```ts
 * commonKeys([{ config: { k: 100, expansion: 32 } }, { config: { k: 100, expansion: 64 } }]); // ['k']
 * ```
 */
export function commonKeys(rows: readonly RecordedResult[]): string[] {
  return scalarKeys(rows).filter(
    (key) => rows.every((r) => r.config[key] !== undefined) && distinct(rows, [key], oneRun) === 1,
  );
}

/**
 * The settings that tell apart `rows`, rows of one name: the naming settings with more than one value,
 * then, in the order the newest row lists its config (suites list what they set before what they
 * measured), each setting that splits rows of one run (`runOf`) that those before it leave alike. A
 * setting that follows from those chosen (an index `source` that goes with its `kind`) or that only
 * changes between runs is left out, so the cell stays short; rows of different runs are told apart by
 * when they were measured.
 *
 * @example
 * ```ts
 * // expansion 32 and 64 of kind ip, 32 of kind mips, with source world or built as kind goes:
 * distinguishingKeys(rows); // ['kind', 'expansion']
 * ```
 */
export function distinguishingKeys(
  rows: readonly RecordedResult[],
  runOf: (result: RecordedResult) => string = oneRun,
): string[] {
  const newestFirst = [...rows].sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0));
  const differing = scalarKeys(newestFirst).filter((key) => distinct(rows, [key], oneRun) > 1);
  const chosen = NAMING_KEYS.filter((key) => differing.includes(key));
  for (const key of differing) {
    if (chosen.includes(key)) continue;
    if (distinct(rows, [...chosen, key], runOf) > distinct(rows, chosen, runOf)) chosen.push(key);
  }
  return chosen;
}

/**
 * `distinguishingKeys` of each name's rows among `rows` (one table), by name.
 *
 * @example
 * ```ts
 * variantsByName(set.history, runKey).get('recall_at_20'); // ['dataset', 'model', 'events']
 * ```
 */
export function variantsByName(
  rows: readonly RecordedResult[],
  runOf?: (result: RecordedResult) => string,
): Map<string, string[]> {
  const byName = new Map<string, RecordedResult[]>();
  for (const row of rows) byName.set(row.name, [...(byName.get(row.name) ?? []), row]);
  return new Map([...byName].map(([name, named]) => [name, distinguishingKeys(named, runOf)]));
}

/**
 * `key=value, …` of the `keys` a result has, values in full so that rows never read alike.
 *
 * @example
 * ```ts
 * formatVariant(result, ['kind', 'expansion']); // 'kind=ip, expansion=32'
 * ```
 */
export function formatVariant(result: RecordedResult, keys: readonly string[]): string {
  return keys
    .filter((key) => result.config[key] !== undefined)
    .map((key) => `${key}=${String(result.config[key])}`)
    .join(', ');
}

function shortScalar(value: Scalar): string {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean') return String(value);
  return value.length > SUMMARY_VALUE_CHARS ? `${value.slice(0, SUMMARY_VALUE_CHARS - 1)}…` : value;
}

/**
 * `key=value, …` of `keys` in `config`, long texts cut: the settings a table's rows share.
 *
 * @example
 * ```ts
 * formatSettings({ k: 100, items: 93955 }, ['items', 'k']); // 'items=93,955, k=100'
 * ```
 */
export function formatSettings(config: Readonly<Record<string, unknown>>, keys: readonly string[]): string {
  return keys.map((key) => `${key}=${shortScalar(config[key] as Scalar)}`).join(', ');
}

/**
 * The first scalar settings of a result's config other than those shown elsewhere (`shown`), `runs`
 * first: how often it was repeated (the value is their median).
 *
 * @example
 * ```ts
 * summariseConfig({ runs: 3, k: 100, source: 'world' }, ['k']); // 'runs=3, source=world'
 * ```
 */
export function summariseConfig(config: Readonly<Record<string, unknown>>, shown: readonly string[]): string {
  const entries = Object.entries(config)
    .filter((entry): entry is [string, Scalar] => {
      const [key, value] = entry;
      return !SKIP.has(key) && !shown.includes(key) && isScalar(value);
    })
    .map(([key, value]) => [key, shortScalar(value)] as const)
    .sort(([a], [b]) => Number(b === 'runs') - Number(a === 'runs'));
  const listed = entries.slice(0, SUMMARY_ENTRIES).map(([key, text]) => `${key}=${text}`);
  if (entries.length > SUMMARY_ENTRIES) listed.push('…');
  return listed.join(', ');
}
