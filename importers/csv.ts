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
 * for await (const rows of readCsv(new LineReader('ratings.csv'), { delimiter: ',' })) {
 *   for (const row of rows) if ('fields' in row) console.log(row.line, row.fields);
 * }
 * ```
 */
import { DEFAULT_MAX_LINE_BYTES, type LineReader, type SourceLine } from './line-reader.js';
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

/** Yields the records of each batch of lines the reader gives. */
export async function* readCsv(
  reader: LineReader,
  options: CsvOptions = {},
): AsyncGenerator<(CsvRow | CsvError)[]> {
  const parser = new CsvParser(options);
  for await (const lines of reader) {
    const out: (CsvRow | CsvError)[] = [];
    for (const line of lines) parser.push(line, out);
    if (out.length > 0) yield out;
  }
  const last = parser.end();
  if (last) yield [last];
}

interface OpenRecord {
  readonly line: number;
  fields: string[];
  field: string;
  readonly raw: Buffer[];
  bytes: number;
}

/** The CSV state machine over physical lines; a record may span several of them. */
class CsvParser {
  private readonly delimiter: string;
  private readonly decode: (bytes: Buffer) => string;
  private readonly maxRecordBytes: number;
  private pending: OpenRecord | undefined;
  private first = true;

  constructor(options: CsvOptions) {
    const delimiter = options.delimiter ?? ',';
    if (delimiter.length !== 1 || delimiter === QUOTE || delimiter === '\n' || delimiter === '\r') {
      throw new RangeError(
        `the CSV delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}`,
      );
    }
    this.delimiter = delimiter;
    this.decode = options.decode ?? decodeUtf8;
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Reads one physical line, appending any record it completes (or error) to `out`. */
  push(line: SourceLine, out: (CsvRow | CsvError)[]): void {
    let text: string;
    try {
      if (line.truncated)
        throw new BadFieldError('line', `is ${line.length} bytes long (max ${line.bytes.length})`);
      text = this.decode(line.bytes);
    } catch (error) {
      if (!(error instanceof BadFieldError)) throw error;
      const open = this.end();
      if (open) out.push(open);
      out.push({ line: line.number, reason: error.message, raw: line.bytes });
      return;
    }
    if (this.first) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const pending = this.pending;
    let state: { fields: string[]; field: string; inQuotes: boolean };
    if (pending) {
      pending.raw.push(line.bytes);
      pending.bytes += line.bytes.length + 1;
      state = splitCsv(text, this.delimiter, pending.fields, `${pending.field}\n`, true);
    } else {
      if (text.length === 0) return;
      state = splitCsv(text, this.delimiter, [], '', false);
    }
    if (state.inQuotes) {
      const open = pending ?? {
        line: line.number,
        fields: [],
        field: '',
        raw: [line.bytes],
        bytes: line.bytes.length,
      };
      open.fields = state.fields;
      open.field = state.field;
      this.pending = open;
      if (open.bytes > this.maxRecordBytes) out.push(this.end()!);
      return;
    }
    state.fields.push(state.field);
    this.pending = undefined;
    if (pending) out.push({ line: pending.line, fields: state.fields, raw: joinLines(pending.raw) });
    else out.push({ line: line.number, fields: state.fields, raw: line.bytes });
  }

  /** The record still open (a quote never closed), as an error; undefined when none is. */
  end(): CsvError | undefined {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return undefined;
    return {
      line: pending.line,
      reason: `a quoted field opened on line ${pending.line} is not closed`,
      raw: joinLines(pending.raw),
    };
  }
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

function joinLines(parts: readonly Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!;
  const out: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    if (i > 0) out.push(Buffer.from('\n'));
    out.push(part);
  }
  return Buffer.concat(out);
}
