/**
 * What an import format produces: catalog items, users and interactions
 * parsed from files, each with the file and line it came from, and bad lines
 * with the reason. The importer (importer.ts) turns these into records on
 * the log; the formats (movielens.ts, csv-format.ts, lines-format.ts) only
 * parse.
 *
 * @example
 * ```ts
 * for await (const batch of source.records()) {
 *   for (const r of batch) if (r.kind === 'bad') console.log(`${r.at.file}:${r.at.line} ${r.reason}`);
 * }
 * ```
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Interaction, Item, User } from '../schemas/generated/types.js';
import { ImportError } from './errors.js';
import { LineReader } from './line-reader.js';
import { BadFieldError } from './values.js';

/** Where a record came from: the file as given to the importer and its 1-based line. */
export interface Location {
  readonly file: string;
  readonly line: number;
}

interface FromLine {
  readonly at: Location;
  /** The input line's bytes, dead-lettered if the record turns out to be bad. */
  readonly raw: Buffer;
}

export type SourceRecord =
  | (FromLine & { readonly kind: 'item'; readonly item: Item })
  | (FromLine & { readonly kind: 'user'; readonly user: User })
  | (FromLine & { readonly kind: 'interactions'; readonly interactions: readonly Interaction[] })
  /** A user named on a line that carries no interaction (a `lines` line with no items). */
  | (FromLine & { readonly kind: 'user-seen'; readonly userId: string })
  | (FromLine & { readonly kind: 'bad'; readonly reason: string; readonly field: string | undefined });

export type FileRole = 'interactions' | 'items' | 'users' | 'genres';

export interface SourceFile {
  readonly path: string;
  readonly role: FileRole;
  readonly bytes: number;
  /** Last modification time, epoch ms: the "record timestamp" of its lines in dead letters. */
  readonly modifiedTs: number;
}

/** One import's input: its files and the records parsed from them, in file order. */
export interface ImportSource {
  readonly format: string;
  readonly files: readonly SourceFile[];
  /** Bytes consumed so far over all files, for progress against the files' total size. */
  bytesRead(): number;
  /** The records in file order, a batch (one read chunk of lines) at a time. */
  records(): AsyncIterable<SourceRecord[]>;
}

/**
 * The stable name of a file in event ids: its folder's and its own name
 * (`ml-100k/u.data`), so the ids do not change when the data set is moved
 * or imported from another machine.
 */
export function sourceName(path: string): string {
  const full = resolve(path);
  return `${basename(dirname(full))}/${basename(full)}`;
}

export async function sourceFile(path: string, role: FileRole): Promise<SourceFile> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new ImportError(
      `${path} cannot be read: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
    );
  });
  if (!info.isFile()) throw new ImportError(`${path} is not a file`);
  return { path, role, bytes: info.size, modifiedTs: Math.floor(info.mtimeMs) };
}

/** Sums what the readers of a source have consumed. */
export class ReadCounter {
  private done = 0;
  private current: LineReader | undefined;

  reader(path: string): LineReader {
    if (this.current) this.done += this.current.bytesRead;
    this.current = new LineReader(path);
    return this.current;
  }

  bytesRead(): number {
    return this.done + (this.current?.bytesRead ?? 0);
  }
}

/**
 * Reads a file line by line and parses each non-blank line with `parse`;
 * a line that is too long, not decodable or refused by `parse` (BadFieldError)
 * becomes a `bad` record instead, and reading goes on.
 */
export async function* parseLines(
  reader: LineReader,
  file: string,
  decode: (bytes: Buffer) => string,
  parse: (text: string, at: Location, raw: Buffer) => SourceRecord | undefined,
): AsyncGenerator<SourceRecord[]> {
  for await (const lines of reader) {
    const out: SourceRecord[] = [];
    for (const line of lines) {
      const at = { file, line: line.number };
      if (line.truncated) {
        out.push(badLine(at, line.bytes, 'line', `is ${line.length} bytes long (max ${line.bytes.length})`));
        continue;
      }
      try {
        const text = decode(line.bytes);
        if (text.trim().length === 0) continue;
        const record = parse(text, at, line.bytes);
        if (record) out.push(record);
      } catch (error) {
        if (!(error instanceof BadFieldError)) throw error;
        out.push(badLine(at, line.bytes, error.field, error.reason));
      }
    }
    if (out.length > 0) yield out;
  }
}

export function badLine(at: Location, raw: Buffer, field: string | undefined, reason: string): SourceRecord {
  return { kind: 'bad', at, raw, field, reason: field === undefined ? reason : `${field}: ${reason}` };
}
