/**
 * Streams a file as lines of bytes with their 1-based line numbers, a read
 * chunk's worth at a time, so an importer never holds more than one chunk
 * (plus one unfinished line) in memory,
 * whatever the file's size. Lines end at `\n`; a trailing `\r` is dropped.
 * A line longer than `maxLineBytes` is not buffered whole: it comes out
 * `truncated`, holding its first `maxLineBytes` bytes and its full `length`,
 * so the caller can dead-letter it instead of running out of memory.
 *
 * @example
 * ```ts
 * const reader = new LineReader('u.data');
 * for await (const lines of reader) for (const line of lines) console.log(line.number, line.bytes.toString());
 * reader.bytesRead; // for progress
 * ```
 */
import { createReadStream } from 'node:fs';

/** Lines longer than this are reported as bad instead of being read into memory. */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

export interface SourceLine {
  readonly number: number;
  /** The line without its terminator (at most `maxLineBytes` of it when truncated). */
  readonly bytes: Buffer;
  readonly truncated: boolean;
  /** Length of the whole line in bytes. */
  readonly length: number;
}

export interface LineReaderOptions {
  readonly maxLineBytes?: number;
  /** Read chunk size; tests use tiny chunks to cross every boundary. */
  readonly chunkBytes?: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class LineReader implements AsyncIterable<SourceLine[]> {
  private read = 0;
  private readonly maxLineBytes: number;

  constructor(
    readonly path: string,
    private readonly options: LineReaderOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Bytes consumed so far, for progress against the file size. */
  get bytesRead(): number {
    return this.read;
  }

  /** Yields the lines of each read chunk together, so per-line work stays synchronous. */
  async *[Symbol.asyncIterator](): AsyncGenerator<SourceLine[]> {
    const stream = createReadStream(this.path, { highWaterMark: this.options.chunkBytes ?? 1 << 16 });
    let parts: Buffer[] = [];
    let kept = 0;
    let length = 0;
    let number = 0;
    const take = (): SourceLine => {
      number++;
      let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, kept);
      // A \r before the \n belongs to the terminator; one cut off by truncation does not matter.
      if (length <= this.maxLineBytes && bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) {
        bytes = bytes.subarray(0, bytes.length - 1);
        length--;
      }
      const line = { number, bytes, truncated: length > this.maxLineBytes, length };
      parts = [];
      kept = 0;
      length = 0;
      return line;
    };
    const keep = (piece: Buffer) => {
      length += piece.length;
      const room = this.maxLineBytes - kept;
      if (room <= 0 || piece.length === 0) return;
      const part = piece.length > room ? piece.subarray(0, room) : piece;
      parts.push(part);
      kept += part.length;
    };
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const lines: SourceLine[] = [];
      let start = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
        keep(chunk.subarray(start, nl));
        start = nl + 1;
        lines.push(take());
      }
      keep(chunk.subarray(start));
      this.read += chunk.length;
      if (lines.length > 0) yield lines;
    }
    if (length > 0) yield [take()];
  }
}
