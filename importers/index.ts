/**
 * Real-data importers (`recstream import`): MovieLens, CSV with
 * a column mapping, and the `lines` format, written through the producer
 * client to rec.items, rec.users and rec.interactions, bad lines to rec.dlq.
 *
 * @example
 * ```ts
 * import { openImportSource, runImport } from './importers/index.js';
 * const source = await openImportSource('lines', 'data/lastfm/train.txt', {});
 * const report = await runImport(platform, source);
 * ```
 */

import { type CsvFormatOptions, csvSource } from './csv-format.js';
import { ImportError } from './errors.js';
import { type LinesOptions, linesSource } from './lines-format.js';
import { type MovieLensOptions, movieLensSource } from './movielens.js';
import type { ImportSource } from './source.js';

export type { ImportOptions, ImportProgress } from './importer.js';
export { ensureImportTopics, runImport } from './importer.js';
export type { BadLine, ImportReport } from './report.js';
export type { ImportSource } from './source.js';

export const IMPORT_FORMATS = ['movielens', 'csv', 'lines'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** Options of every format; each format reads the ones that apply to it. */
export type SourceOptions = CsvFormatOptions & LinesOptions & MovieLensOptions;

export function openImportSource(
  format: string,
  path: string,
  options: SourceOptions,
): Promise<ImportSource> {
  switch (format) {
    case 'movielens':
      return movieLensSource(path, options);
    case 'csv':
      return csvSource(path, options);
    case 'lines':
      return linesSource(path, options);
    default:
      throw new ImportError(
        `unknown import format ${JSON.stringify(format)}; formats are ${IMPORT_FORMATS.join(', ')}`,
      );
  }
}
