/**
 * MovieLens data sets as published by GroupLens. `path` is the data set's
 * folder or its ratings file (`u.data`, a split such as `u1.base`,
 * `ratings.dat`, `ratings.csv`); metadata files next to it are read when
 * present:
 *
 * | layout | ratings | items | users |
 * |---|---|---|---|
 * | ML-100K | `u.data` (tab) | `u.item` + `u.genre` (pipe) | `u.user` (pipe) |
 * | ML-1M / 10M | `ratings.dat` (`::`) | `movies.dat` | `users.dat` (1M only) |
 * | ML-20M / 25M / latest | `ratings.csv` | `movies.csv` | — |
 *
 * Ratings become `rate` interactions with value = rating and event id
 * `<folder>/<file>:<line>`; items (title, genres as categories, release
 * date) and users (age bucket, country from the postal code) come first,
 * with `updated_ts` = `catalogTs`, since MovieLens gives metadata no time.
 *
 * @example
 * ```ts
 * const source = await movieLensSource('ml-100k');
 * source.files; // u.genre, u.item, u.user, u.data
 * ```
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Item } from '../schemas/generated/types.js';
import { readCsv } from './csv.js';
import { csvInteractions, readCsvHeader, resolveColumns } from './csv-format.js';
import { ImportError } from './errors.js';
import type { LineReader } from './line-reader.js';
import {
  ML100K_GENRES,
  type MovieRow,
  movie,
  parseGenre,
  parseItem100k,
  parseItemDat,
  parseRating100k,
  parseRatingDat,
  parseUser100k,
  parseUserDat,
  type Rating,
  type UserRow,
} from './movielens-rows.js';
import { catalogItem, interaction, profile } from './records.js';
import {
  badLine,
  type FileRole,
  type ImportSource,
  parseLines,
  ReadCounter,
  type SourceFile,
  type SourceRecord,
  sourceFile,
  sourceName,
} from './source.js';
import { decodeMetadata, decodeUtf8 } from './text.js';
import { BadFieldError } from './values.js';

export interface MovieLensOptions {
  /** `updated_ts` (and `signup_ts`) of the items and users from metadata files; default 0 (known before any event). */
  readonly catalogTs?: number;
  /** Name used in event ids; default `<folder>/<file>` of the ratings file. */
  readonly source?: string;
}

type Layout = '100k' | 'dat' | 'csv';

interface Files {
  readonly layout: Layout;
  readonly ratings: string;
  readonly items?: string;
  readonly users?: string;
  readonly genres?: string;
}

const RATINGS_FILES = ['u.data', 'ratings.dat', 'ratings.csv'];
const ML_CSV_COLUMNS = { user_id: 'userId', item_id: 'movieId', value: 'rating', ts: 'timestamp' } as const;

export async function movieLensSource(path: string, options: MovieLensOptions = {}): Promise<ImportSource> {
  const found = await locate(resolve(path));
  const files: SourceFile[] = [];
  const add = async (file: string | undefined, role: FileRole) => {
    if (file) files.push(await sourceFile(file, role));
  };
  await add(found.genres, 'genres');
  await add(found.items, 'items');
  await add(found.users, 'users');
  await add(found.ratings, 'interactions');
  const catalogTs = options.catalogTs ?? 0;
  const name = options.source ?? sourceName(found.ratings);
  // ratings.csv's header is checked before anything is written.
  const ratingsCsv =
    found.layout === 'csv'
      ? csvInteractions(
          resolveColumns(await readCsvHeader(found.ratings, ','), ML_CSV_COLUMNS, found.ratings),
          { delimiter: ',', type: 'rate', tsUnit: 's', source: name },
        )
      : undefined;
  const counter = new ReadCounter();
  const read = (file: string) => counter.reader(file);

  async function* records(): AsyncGenerator<SourceRecord[]> {
    let genres = ML100K_GENRES;
    if (found.genres) {
      const named: string[] = [];
      yield* parseLines(read(found.genres), found.genres, decodeMetadata, (text) => {
        const genre = parseGenre(text);
        named[genre.index] = genre.name;
        return undefined;
      });
      genres = Array.from(named, (g, i) => g ?? `genre ${i}`);
    }
    if (found.items) {
      const file = found.items;
      const toItem = (row: MovieRow) => catalogItem({ ...row, updatedTs: catalogTs });
      if (found.layout === 'csv') {
        yield* moviesCsv(read(file), file, (cells) => toItem(movie(cells)));
      } else {
        const parse = found.layout === '100k' ? (t: string) => parseItem100k(t, genres) : parseItemDat;
        yield* parseLines(read(file), file, decodeMetadata, (text, at, raw) => ({
          kind: 'item',
          at,
          raw,
          item: toItem(parse(text)),
        }));
      }
    }
    if (found.users) {
      const parse = found.layout === '100k' ? parseUser100k : parseUserDat;
      yield* parseLines(read(found.users), found.users, decodeMetadata, (text, at, raw) => {
        const row: UserRow = parse(text);
        return { kind: 'user', at, raw, user: profile({ ...row, ts: catalogTs }) };
      });
    }
    if (ratingsCsv) {
      yield* ratingsCsv(read(found.ratings), found.ratings);
      return;
    }
    const parse = found.layout === '100k' ? parseRating100k : parseRatingDat;
    yield* parseLines(read(found.ratings), found.ratings, decodeUtf8, (text, at, raw) => {
      const r: Rating = parse(text);
      const event = interaction({
        eventId: `${name}:${at.line}`,
        userId: r.userId,
        itemId: r.itemId,
        type: 'rate',
        value: r.rating,
        ts: r.ts,
      });
      return { kind: 'interactions', at, raw, interactions: [event] };
    });
  }

  return { format: 'movielens', files, bytesRead: () => counter.bytesRead(), records };
}

/** movies.csv: a header, then `movieId,title,genres` with quoted titles. */
async function* moviesCsv(
  reader: LineReader,
  file: string,
  toItem: (cells: readonly string[]) => Item,
): AsyncGenerator<SourceRecord[]> {
  let header = true;
  for await (const rows of readCsv(reader, { decode: decodeMetadata })) {
    const out: SourceRecord[] = [];
    for (const row of rows) {
      const at = { file, line: row.line };
      if (!('fields' in row)) {
        out.push(badLine(at, row.raw, undefined, row.reason));
        continue;
      }
      if (header) {
        header = false;
        continue;
      }
      try {
        if (row.fields.length !== 3) {
          throw new BadFieldError(
            'line',
            `has ${row.fields.length} fields, expected 3 (movieId,title,genres)`,
          );
        }
        out.push({ kind: 'item', at, raw: row.raw, item: toItem(row.fields) });
      } catch (error) {
        if (!(error instanceof BadFieldError)) throw error;
        out.push(badLine(at, row.raw, error.field, error.reason));
      }
    }
    if (out.length > 0) yield out;
  }
}

async function locate(path: string): Promise<Files> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new ImportError(`${path} does not exist`);
  let dir: string;
  let ratings: string;
  if (info.isDirectory()) {
    dir = path;
    const name = RATINGS_FILES.find((f) => existsSync(join(dir, f)));
    if (!name) {
      throw new ImportError(
        `${path} holds no MovieLens ratings file (looked for ${RATINGS_FILES.join(', ')})`,
      );
    }
    ratings = join(dir, name);
  } else {
    dir = dirname(path);
    ratings = path;
  }
  const layout: Layout = ratings.endsWith('.dat') ? 'dat' : ratings.endsWith('.csv') ? 'csv' : '100k';
  const optional = (name: string) => (existsSync(join(dir, name)) ? join(dir, name) : undefined);
  if (layout === '100k') {
    return {
      layout,
      ratings,
      items: optional('u.item'),
      users: optional('u.user'),
      genres: optional('u.genre'),
    };
  }
  if (layout === 'dat')
    return { layout, ratings, items: optional('movies.dat'), users: optional('users.dat') };
  if (basename(ratings) !== 'ratings.csv' && !existsSync(join(dir, 'movies.csv'))) {
    throw new ImportError(
      `${path}: a CSV that is not MovieLens' ratings.csv; import it with: recstream import csv`,
    );
  }
  return { layout, ratings, items: optional('movies.csv') };
}
