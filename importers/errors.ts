/**
 * Refusals of imported data sets: a whole file (`ImportError`) or one of its lines (`BadInputLineError`, which the importer dead-letters and goes on, or throws under `--strict`).
 *
 * @example
 * ```ts
 * throw new BadInputLineError('user_id is empty', 'ratings.dat', 12, 'user_id');
 * ```
 */
import { RecstreamError } from '../runtime/errors.js';

/** An import cannot start: unknown format, missing file, a column mapping that does not fit the header. */
export class ImportError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'IMPORT_INVALID' });
  }
}

/**
 * One line of an imported file is unusable; `field` names the part that is
 * wrong (`user_id`, `ts (column timestamp)`, `line` for the line as a whole).
 * The importer dead-letters it and goes on, or throws it under `--strict`.
 */
export class BadInputLineError extends RecstreamError {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly field: string | undefined,
  ) {
    super(message, { code: 'IMPORT_LINE_INVALID' });
  }
}
