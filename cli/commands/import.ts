/**
 * `recstream import <movielens|csv|lines> <path>`: parses the options into
 * an ImportSource (importers/), runs the import with progress on
 * stderr, and prints the report (text, or JSON with `--json`) on stdout.
 *
 * @example
 * ```sh
 * recstream import movielens ml-100k --data-dir /tmp/ml
 * recstream import csv events.csv --map user_id=who,item_id=what,type=kind,ts=when --strict
 * ```
 */

import { withPlatform } from '../../app/platform.js';
import { CSV_TARGETS, parseMapping } from '../../importers/csv-format.js';
import { ImportError } from '../../importers/errors.js';
import {
  IMPORT_FORMATS,
  type ImportReport,
  openImportSource,
  runImport,
  type SourceOptions,
} from '../../importers/index.js';
import {
  BadFieldError,
  parseTimestamp,
  TIMESTAMP_UNITS,
  type TimestampUnit,
} from '../../importers/values.js';
import type { InteractionType } from '../../schemas/generated/types.js';
import { INTERACTION_TYPE_SYMBOLS } from '../../schemas/generated/types.js';
import type { Command } from '../command.js';
import { Progress } from '../progress.js';

/** Options that only some formats read; naming one for another format is a mistake worth reporting. */
const FORMAT_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  map: ['csv'],
  delimiter: ['csv'],
  'ts-unit': ['csv'],
  type: ['csv', 'lines'],
  start: ['csv', 'lines'],
  'step-ms': ['csv', 'lines'],
};

/** Bad lines printed in the text summary; the JSON report lists up to 1000 and rec.dlq holds all. */
const PRINTED_BAD_LINES = 20;

export const importCommand: Command = {
  name: 'import',
  summary: 'import real data: movielens (u.data / ratings.dat / ratings.csv + metadata), csv, lines',
  usage: [
    'recstream import <movielens|csv|lines> <path> [--strict] [--json] [--catalog-ts TIME] [--source NAME]',
    `  csv:        [--map field=column,…] (fields: ${CSV_TARGETS.join(' ')})`,
    '              [--delimiter C|tab] [--ts-unit auto|s|ms|iso]',
    '  csv, lines: [--type TYPE] [--start TIME] [--step-ms N]   (event time when the file has none)',
    'TIME is epoch milliseconds or ISO-8601. Bad lines are reported and sent to rec.dlq, and the import',
    'goes on; --strict stops at the first one. docs/producing-events.md ("Importing real data") has the details.',
  ].join('\n'),
  options: {
    strict: { type: 'boolean' },
    json: { type: 'boolean' },
    map: { type: 'string' },
    delimiter: { type: 'string' },
    type: { type: 'string' },
    'ts-unit': { type: 'string' },
    start: { type: 'string' },
    'step-ms': { type: 'string' },
    'catalog-ts': { type: 'string' },
    source: { type: 'string' },
  },
  async run({ config, positionals, values }) {
    const [format, path, ...extra] = positionals;
    if (format === undefined || path === undefined || extra.length > 0) {
      throw new ImportError(
        `expected a format (${IMPORT_FORMATS.join(', ')}) and one path, got ${JSON.stringify(positionals)}`,
      );
    }
    for (const [option, formats] of Object.entries(FORMAT_OPTIONS)) {
      if (
        values[option] !== undefined &&
        !formats.includes(format) &&
        IMPORT_FORMATS.includes(format as never)
      ) {
        throw new ImportError(`--${option} applies to ${formats.join(' and ')} imports, not ${format}`);
      }
    }
    const catalogTs = time('--catalog-ts', values['catalog-ts']);
    const source = await openImportSource(format, path, sourceOptions(values, catalogTs));
    return withPlatform(config, async (platform) => {
      const progress = new Progress(
        `import ${format} (bytes)`,
        source.files.reduce((n, f) => n + f.bytes, 0),
      );
      const report = await runImport(platform, source, {
        strict: values.strict === true,
        catalogTs,
        onProgress: (p) => progress.update(p.bytes, { interactions: p.interactions, bad_lines: p.badLines }),
      });
      progress.done({ interactions: report.interactions, bad_lines: report.bad_lines });
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : summary(report));
      return 0;
    });
  },
};

function sourceOptions(
  values: Readonly<Record<string, string | boolean | undefined>>,
  catalogTs: number | undefined,
): SourceOptions {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const type = text('type');
  if (type !== undefined && !(INTERACTION_TYPE_SYMBOLS as readonly string[]).includes(type)) {
    throw new ImportError(
      `--type ${type} is not an interaction type; one of ${INTERACTION_TYPE_SYMBOLS.join(', ')}`,
    );
  }
  const tsUnit = text('ts-unit');
  if (tsUnit !== undefined && !(TIMESTAMP_UNITS as readonly string[]).includes(tsUnit)) {
    throw new ImportError(`--ts-unit ${tsUnit} is not one of ${TIMESTAMP_UNITS.join(', ')}`);
  }
  const stepMs = text('step-ms');
  if (stepMs !== undefined && !/^\d+$/.test(stepMs)) {
    throw new ImportError(`--step-ms must be a whole number of milliseconds, got ${stepMs}`);
  }
  const delimiter = text('delimiter');
  const map = text('map');
  return {
    map: map === undefined ? undefined : parseMapping(map),
    delimiter: delimiter === '\\t' || delimiter === 'tab' ? '\t' : delimiter,
    type: type as InteractionType | undefined,
    tsUnit: tsUnit as TimestampUnit | undefined,
    start: time('--start', text('start')),
    stepMs: stepMs === undefined ? undefined : Number(stepMs),
    catalogTs,
    source: text('source'),
  };
}

/** A time option: epoch milliseconds or an ISO-8601 date. */
function time(name: string, raw: string | boolean | undefined): number | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    return parseTimestamp(name, raw, /^\d+$/.test(raw.trim()) ? 'ms' : 'iso');
  } catch (error) {
    if (error instanceof BadFieldError) throw new ImportError(error.message);
    throw error;
  }
}

function summary(report: ImportReport): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const metadataOf = (role: string) =>
    report.files
      .filter((f) => f.role === role)
      .map((f) => f.path.split('/').pop())
      .join(', ') || 'no metadata file';
  const lines = [
    `imported ${report.files.map((f) => f.path).join(', ')} (${report.format}) in ${report.seconds.toFixed(2)} s`,
    `  interactions ${n(report.interactions).padStart(12)}  → rec.interactions`,
    `  items        ${n(report.items.metadata + report.items.minimal).padStart(12)}  → rec.items (${n(report.items.metadata)} from ${metadataOf('items')}, ${n(report.items.minimal)} minimal)`,
    `  users        ${n(report.users.metadata + report.users.minimal).padStart(12)}  → rec.users (${n(report.users.metadata)} from ${metadataOf('users')}, ${n(report.users.minimal)} minimal)`,
    `  bad lines    ${n(report.bad_lines).padStart(12)}${report.bad_lines > 0 ? '  → rec.dlq' : ''}`,
  ];
  for (const bad of report.bad.slice(0, PRINTED_BAD_LINES))
    lines.push(`    ${bad.file}:${bad.line}  ${bad.reason}`);
  if (report.bad_lines > PRINTED_BAD_LINES) {
    lines.push(
      `    … and ${n(report.bad_lines - PRINTED_BAD_LINES)} more: recstream import --json, or recstream dlq list`,
    );
  }
  return `${lines.join('\n')}\n`;
}
