/**
 * A streaming CSV reader (RFC 4180): fields separated by a delimiter,
 * optionally double-quoted, `""` for a quote inside quotes, quoted fields
 * may span lines. Each record carries the line it starts on. A record that
 * cannot be read (invalid UTF-8, a quote left open for more than
 * `maxRecordBytes`) comes out as an error and reading resumes on the next
 * line, so one broken record never swallows the rest of the file.
 *
 * @example
 * ```ts
 * for await (const row of readCsv(new LineReader('ratings.csv'), { delimiter: ',' })) {
 *   if ('fields' in row) console.log(row.line, row.fields);
 * }
 * ```
 */
import { DEFAULT_MAX_LINE_BYTES, type LineReader } from './line-reader.js';
import { decodeUtf8 } from './text.js';
import { BadFieldError } from './values.js';

export interface CsvRow {
  readonly line: number;
  readonly fields: readonly string[];
  readonly raw: Buffer;
}

export interface CsvError {
  readonly line: number;
  readonly reason: string;
  readonly raw: Buffer;
}

export interface CsvOptions {
  readonly delimiter?: string;
  /** Text decoding of each line; strict UTF-8 by default. */
  readonly decode?: (bytes: Buffer) => string;
  readonly maxRecordBytes?: number;
}

const QUOTE = '"';

export async function* readCsv(
  reader: LineReader,
  options: CsvOptions = {},
): AsyncGenerator<CsvRow | CsvError> {
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || delimiter === QUOTE || delimiter === '\n' || delimiter === '\r') {
    throw new RangeError(
      `the CSV delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}`,
    );
  }
  const decode = options.decode ?? decodeUtf8;
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_LINE_BYTES;
  let pending: { line: number; fields: string[]; field: string; raw: Buffer[]; bytes: number } | undefined;
  let first = true;
  for await (const line of reader) {
    let text: string;
    try {
      if (line.truncated)
        throw new BadFieldError('line', `is ${line.length} bytes long (max ${line.bytes.length})`);
      text = decode(line.bytes);
    } catch (error) {
      if (!(error instanceof BadFieldError)) throw error;
      if (pending) {
        yield openQuote(pending);
        pending = undefined;
      }
      yield { line: line.number, reason: error.message, raw: line.bytes };
      continue;
    }
    if (first) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let state: { fields: string[]; field: string; inQuotes: boolean };
    if (pending) {
      pending.raw.push(line.bytes);
      pending.bytes += line.bytes.length + 1;
      state = splitCsv(text, delimiter, pending.fields, `${pending.field}\n`, true);
    } else {
      if (text.length === 0) continue;
      state = splitCsv(text, delimiter, [], '', false);
    }
    if (state.inQuotes) {
      pending ??= { line: line.number, fields: [], field: '', raw: [line.bytes], bytes: line.bytes.length };
      pending.fields = state.fields;
      pending.field = state.field;
      if (pending.bytes > maxRecordBytes) {
        yield openQuote(pending);
        pending = undefined;
      }
      continue;
    }
    state.fields.push(state.field);
    if (pending) {
      yield { line: pending.line, fields: state.fields, raw: joinLines(pending.raw) };
      pending = undefined;
    } else {
      yield { line: line.number, fields: state.fields, raw: line.bytes };
    }
  }
  if (pending) yield openQuote(pending);
}

/** Splits one physical line, continuing a quoted field when `inQuotes`. */
function splitCsv(
  text: string,
  delimiter: string,
  fields: string[],
  field: string,
  inQuotes: boolean,
): { fields: string[]; field: string; inQuotes: boolean } {
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (inQuotes) {
      if (c === QUOTE) {
        if (text[i + 1] === QUOTE) {
          field += QUOTE;
          i += 2;
          continue;
        }
        inQuotes = false;
      } else {
        field += c;
      }
      i++;
      continue;
    }
    if (c === delimiter) {
      fields.push(field);
      field = '';
    } else if (c === QUOTE && field.length === 0) {
      inQuotes = true;
    } else {
      // A quote inside an unquoted field is kept as text, as most CSV writers and readers do.
      field += c;
    }
    i++;
  }
  return { fields, field, inQuotes };
}

function openQuote(pending: { line: number; raw: Buffer[] }): CsvError {
  return {
    line: pending.line,
    reason: `a quoted field opened on line ${pending.line} is not closed`,
    raw: joinLines(pending.raw),
  };
}

function joinLines(parts: readonly Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!;
  const out: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    if (i > 0) out.push(Buffer.from('\n'));
    out.push(part);
  }
  return Buffer.concat(out);
}
