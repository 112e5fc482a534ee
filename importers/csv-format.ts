/**
 * CSV interactions with a header row and a column mapping
 * (`--map user_id=userId,item_id=movieId,ts=timestamp,value=rating`).
 * Targets are the `Interaction` fields: event_id, user_id, item_id, type,
 * value, watch_ms, ts, and the context fields device, country, session_id,
 * surface, request_id. A target that is not mapped reads the column of its
 * own name when the header has one. Without an event_id column the event id
 * is `<source>:<line>`; without a ts column event time is synthesised in
 * file order (event-time.ts); without a type column every row has the
 * `type` option, or `rate` when a value column is mapped.
 *
 * @example
 * ```ts
 * const source = await csvSource('ratings.csv', {
 *   map: parseMapping('user_id=userId,item_id=movieId,value=rating,ts=timestamp'),
 * });
 * ```
 */
import { resolve } from 'node:path';
import type { Interaction, InteractionType } from '../schemas/generated/types.js';
import { readCsv } from './csv.js';
import { ImportError } from './errors.js';
import { DEFAULT_SYNTHETIC_START, DEFAULT_SYNTHETIC_STEP_MS, SyntheticClock } from './event-time.js';
import { LineReader } from './line-reader.js';
import { interaction } from './records.js';
import {
  badLine,
  type ImportSource,
  type Location,
  ReadCounter,
  type SourceRecord,
  sourceFile,
  sourceName,
} from './source.js';
import {
  BadFieldError,
  parseCount,
  parseId,
  parseInteractionType,
  parseOptionalText,
  parseTimestamp,
  parseUserId,
  parseValue,
  type TimestampUnit,
} from './values.js';

export const CSV_TARGETS = [
  'event_id',
  'user_id',
  'item_id',
  'type',
  'value',
  'watch_ms',
  'ts',
  'device',
  'country',
  'session_id',
  'surface',
  'request_id',
] as const;
export type CsvTarget = (typeof CSV_TARGETS)[number];
/** Target field → source column name. */
export type CsvMapping = Readonly<Partial<Record<CsvTarget, string>>>;

export interface CsvFormatOptions {
  readonly map?: CsvMapping;
  readonly delimiter?: string;
  /** Type of every row when no type column is mapped. */
  readonly type?: InteractionType;
  readonly tsUnit?: TimestampUnit;
  /** Synthesised event time when no ts column is mapped (see event-time.ts). */
  readonly start?: number;
  readonly stepMs?: number;
  readonly source?: string;
}

/** Parses `target=column,target=column`; names every unknown target. */
export function parseMapping(spec: string): CsvMapping {
  const out: Partial<Record<CsvTarget, string>> = {};
  for (const pair of spec.split(',')) {
    if (pair.trim().length === 0) continue;
    const eq = pair.indexOf('=');
    const target = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    const column = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (!(CSV_TARGETS as readonly string[]).includes(target)) {
      throw new ImportError(
        `--map: unknown field ${JSON.stringify(target)}; fields are ${CSV_TARGETS.join(', ')}`,
      );
    }
    if (column.length === 0)
      throw new ImportError(`--map: ${target}= names no column; write ${target}=COLUMN`);
    out[target as CsvTarget] = column;
  }
  return out;
}

/** Column index of each mapped target, checked against the header. */
type Columns = Partial<Record<CsvTarget, { readonly index: number; readonly column: string }>>;

export function resolveColumns(header: readonly string[], map: CsvMapping, file: string): Columns {
  const trimmed = header.map((h) => h.trim());
  const columns: Columns = {};
  for (const target of CSV_TARGETS) {
    const column = map[target] ?? target;
    const index = trimmed.indexOf(column);
    if (index >= 0) columns[target] = { index, column };
    else if (map[target] !== undefined) {
      throw new ImportError(
        `${file}: --map ${target}=${column}: the header has no column ${JSON.stringify(column)}; it has ${trimmed.map((h) => JSON.stringify(h)).join(', ')}`,
      );
    }
  }
  for (const required of ['user_id', 'item_id'] as const) {
    if (!columns[required]) {
      throw new ImportError(
        `${file}: no ${required} column; the header has ${trimmed.map((h) => JSON.stringify(h)).join(', ')}; map one with --map ${required}=COLUMN`,
      );
    }
  }
  return columns;
}

/** Reads the first record of a CSV file: its header. */
export async function readCsvHeader(path: string, delimiter: string): Promise<string[]> {
  for await (const [row] of readCsv(new LineReader(path), { delimiter })) {
    if (row && 'fields' in row) return [...row.fields];
    if (row) throw new ImportError(`${path}: line ${row.line}: the header cannot be read: ${row.reason}`);
  }
  throw new ImportError(`${path} is empty; a CSV import needs a header row`);
}

export async function csvSource(path: string, options: CsvFormatOptions = {}): Promise<ImportSource> {
  const file = resolve(path);
  const files = [await sourceFile(file, 'interactions')];
  const delimiter = options.delimiter ?? ',';
  const columns = resolveColumns(await readCsvHeader(file, delimiter), options.map ?? {}, file);
  const counter = new ReadCounter();
  const rows = csvInteractions(columns, {
    ...options,
    delimiter,
    source: options.source ?? sourceName(file),
  });
  return {
    format: 'csv',
    files,
    bytesRead: () => counter.bytesRead(),
    records: () => rows(counter.reader(file), file),
  };
}

/**
 * Turns the rows of a CSV reader (header first) into interaction records.
 * Also used by the MovieLens importer for `ratings.csv`.
 */
export function csvInteractions(
  columns: Columns,
  options: CsvFormatOptions & { readonly delimiter: string; readonly source: string },
): (reader: LineReader, file: string) => AsyncGenerator<SourceRecord[]> {
  const fixedType = options.type ?? (columns.value ? 'rate' : undefined);
  if (!columns.type && fixedType === undefined) {
    throw new ImportError(
      'no interaction type: map a type column (--map type=COLUMN), a value column (rows become ratings), or pass --type',
    );
  }
  const clock = columns.ts
    ? undefined
    : new SyntheticClock({
        start: options.start ?? DEFAULT_SYNTHETIC_START,
        stepMs: options.stepMs ?? DEFAULT_SYNTHETIC_STEP_MS,
      });
  const unit = options.tsUnit ?? 'auto';
  // Errors name the field and, when it differs, the column it was read from.
  const label = Object.fromEntries(
    CSV_TARGETS.map((t) => [
      t,
      columns[t] && columns[t].column !== t ? `${t} (column ${columns[t].column})` : t,
    ]),
  ) as Record<CsvTarget, string>;
  const cell = (fields: readonly string[], target: CsvTarget) => {
    const c = columns[target];
    return c === undefined ? undefined : fields[c.index];
  };
  const text = (fields: readonly string[], target: CsvTarget) =>
    parseOptionalText(label[target], cell(fields, target));
  const toInteraction = (fields: readonly string[], line: number): Interaction => {
    const type = columns.type ? parseInteractionType(label.type, cell(fields, 'type')) : fixedType!;
    const value = parseValue(label.value, cell(fields, 'value'));
    if (type === 'rate' && value === null) throw new BadFieldError(label.value, 'a rate needs a rating');
    const record = interaction({
      eventId: columns.event_id
        ? parseId(label.event_id, cell(fields, 'event_id'))
        : `${options.source}:${line}`,
      userId: parseUserId(label.user_id, cell(fields, 'user_id')),
      itemId: parseId(label.item_id, cell(fields, 'item_id')),
      type,
      value,
      watchMs: parseCount(label.watch_ms, cell(fields, 'watch_ms')),
      ts: clock ? 0 : parseTimestamp(label.ts, cell(fields, 'ts'), unit),
      context: {
        device: text(fields, 'device'),
        country: text(fields, 'country'),
        session_id: text(fields, 'session_id'),
        surface: text(fields, 'surface'),
        request_id: text(fields, 'request_id'),
      },
    });
    // The clock moves only for good rows, so a bad row takes no event time.
    if (clock) record.ts = clock.next();
    return record;
  };
  return async function* (reader, file) {
    let width: number | undefined;
    for await (const rows of readCsv(reader, { delimiter: options.delimiter })) {
      const out: SourceRecord[] = [];
      for (const row of rows) {
        const at: Location = { file, line: row.line };
        if (!('fields' in row)) {
          out.push(badLine(at, row.raw, undefined, row.reason));
        } else if (width === undefined) {
          width = row.fields.length;
        } else if (row.fields.length !== width) {
          out.push(badLine(at, row.raw, 'line', `has ${row.fields.length} fields, the header has ${width}`));
        } else {
          try {
            out.push({
              kind: 'interactions',
              at,
              raw: row.raw,
              interactions: [toInteraction(row.fields, row.line)],
            });
          } catch (error) {
            if (!(error instanceof BadFieldError)) throw error;
            out.push(badLine(at, row.raw, error.field, error.reason));
          }
        }
      }
      if (out.length > 0) yield out;
    }
  };
}
