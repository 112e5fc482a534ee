/**
 * Parsers for the lines of MovieLens files, in the layouts GroupLens ships:
 * ML-100K (`u.data` tab-separated, `u.item` / `u.user` / `u.genre`
 * pipe-separated), ML-1M and ML-10M (`ratings.dat`, `movies.dat`,
 * `users.dat`, `::`-separated) and ML-20M/25M/latest (`ratings.csv`,
 * `movies.csv`). Each returns plain values or throws BadFieldError naming
 * the field.
 *
 * @example
 * ```ts
 * parseRating100k('196\t242\t3\t881250949'); // { userId: '196', itemId: '242', rating: 3, ts: 881250949000 }
 * parseItemDat('1::Toy Story (1995)::Animation|Children\'s|Comedy');
 * ```
 */
import { BadFieldError, parseId, parseTimestamp, parseUserId, parseValue, quote } from './values.js';

export interface Rating {
  readonly userId: string;
  readonly itemId: string;
  readonly rating: number;
  readonly ts: number;
}

export interface MovieRow {
  readonly itemId: string;
  readonly title: string;
  readonly categories: readonly string[];
  readonly releaseTs: number | null;
}

export interface UserRow {
  readonly userId: string;
  readonly ageBucket: string | null;
  readonly country: string | null;
}

/** The 19 genres of ML-100K's u.genre, in flag order; used when u.genre is absent. */
export const ML100K_GENRES: readonly string[] = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

/** Genres that mean "no genre"; they do not become categories. */
const NO_GENRE = new Set(['unknown', '(no genres listed)']);

export function parseRating100k(text: string): Rating {
  return rating(fields(text.trim(), /\s+/, 4, 'user item rating timestamp'));
}

export function parseRatingDat(text: string): Rating {
  return rating(fields(text, '::', 4, 'UserID::MovieID::Rating::Timestamp'));
}

/** `userId,movieId,rating,timestamp` cells of ratings.csv. */
export function rating(cells: readonly string[]): Rating {
  const value = parseValue('rating', cells[2]);
  if (value === null) throw new BadFieldError('rating', 'is empty');
  if (value < 0.5 || value > 5)
    throw new BadFieldError('rating', `${value} is outside the MovieLens scale 0.5-5`);
  return {
    userId: parseUserId('user_id', cells[0]),
    itemId: parseId('item_id', cells[1]),
    rating: value,
    ts: parseTimestamp('timestamp', cells[3], 's'),
  };
}

/** One `u.genre` line: `name|index`. */
export function parseGenre(text: string): { name: string; index: number } {
  const [name, index] = fields(text, '|', 2, 'name|index');
  if (!/^\d+$/.test(index!.trim()))
    throw new BadFieldError('index', `${quote(index!)} is not a whole number`);
  return { name: name!.trim(), index: Number(index) };
}

/** One `u.item` line: id|title|release date|video release date|IMDb URL|one 0/1 flag per genre. */
export function parseItem100k(text: string, genres: readonly string[]): MovieRow {
  const cells = fields(
    text,
    '|',
    5 + genres.length,
    `id|title|release date|video release date|URL|${genres.length} genre flags`,
  );
  const categories: string[] = [];
  for (const [i, genre] of genres.entries()) {
    const flag = cells[5 + i]!.trim();
    if (flag !== '0' && flag !== '1')
      throw new BadFieldError(`genre ${genre}`, `flag ${quote(flag)} is not 0 or 1`);
    if (flag === '1' && !NO_GENRE.has(genre)) categories.push(genre);
  }
  return {
    itemId: parseId('item_id', cells[0]),
    title: title(cells[1]!),
    categories,
    releaseTs: releaseDate(cells[2]!),
  };
}

/** One `movies.dat` line: MovieID::Title::Genres (genres `|`-separated). */
export function parseItemDat(text: string): MovieRow {
  const cells = fields(text, '::', 3, 'MovieID::Title::Genres');
  return movie(cells);
}

/** `movieId,title,genres` cells of movies.csv (or the split cells of movies.dat). */
export function movie(cells: readonly string[]): MovieRow {
  const name = title(cells[1] ?? '');
  return {
    itemId: parseId('item_id', cells[0]),
    title: name,
    categories: (cells[2] ?? '')
      .split('|')
      .map((g) => g.trim())
      .filter((g) => g.length > 0 && !NO_GENRE.has(g)),
    releaseTs: yearOfTitle(name),
  };
}

/** One `u.user` line: id|age|gender|occupation|zip code. */
export function parseUser100k(text: string): UserRow {
  const cells = fields(text, '|', 5, 'id|age|gender|occupation|zip code');
  const age = cells[1]!.trim();
  if (!/^\d{1,3}$/.test(age) || Number(age) < 1 || Number(age) > 120) {
    throw new BadFieldError('age', `${quote(age)} is not an age in years`);
  }
  return {
    userId: parseUserId('user_id', cells[0]),
    ageBucket: ageBucket(Number(age)),
    country: countryOfZip(cells[4]!),
  };
}

/** ML-1M's age codes and the ranges they stand for (its README). */
const ML1M_AGES: Readonly<Record<string, string>> = {
  '1': '0-17',
  '18': '18-24',
  '25': '25-34',
  '35': '35-44',
  '45': '45-49',
  '50': '50-55',
  '56': '56+',
};

/** One `users.dat` line: UserID::Gender::Age::Occupation::Zip-code. */
export function parseUserDat(text: string): UserRow {
  const cells = fields(text, '::', 5, 'UserID::Gender::Age::Occupation::Zip-code');
  const code = cells[2]!.trim();
  const bucket = ML1M_AGES[code];
  if (bucket === undefined) {
    throw new BadFieldError(
      'age',
      `${quote(code)} is not an ML-1M age code (${Object.keys(ML1M_AGES).join(', ')})`,
    );
  }
  return { userId: parseUserId('user_id', cells[0]), ageBucket: bucket, country: countryOfZip(cells[4]!) };
}

/** The User schema's coarse ranges; exact ages are never stored. */
export function ageBucket(age: number): string {
  if (age < 13) return '0-12';
  if (age < 18) return '13-17';
  if (age < 25) return '18-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 55) return '45-54';
  return '55+';
}

/** MovieLens users give a postal code: five digits are a US ZIP code, letter-digit-letter a Canadian one. */
export function countryOfZip(zip: string): string | null {
  const code = zip.trim();
  if (/^\d{5}(-\d{4})?$/.test(code)) return 'US';
  if (/^[A-Za-z]\d[A-Za-z]/.test(code)) return 'CA';
  return null;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** `01-Jan-1995` (u.item's release date) as epoch ms at UTC midnight; empty is null. */
export function releaseDate(raw: string): number | null {
  const text = raw.trim();
  if (text.length === 0) return null;
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  const month = m ? MONTHS.indexOf(m[2]!.toLowerCase()) : -1;
  if (!m || month < 0)
    throw new BadFieldError('release date', `${quote(text)} is not a date like 01-Jan-1995`);
  const ts = Date.UTC(Number(m[3]), month, Number(m[1]));
  if (new Date(ts).getUTCDate() !== Number(m[1]))
    throw new BadFieldError('release date', `${quote(text)} is not a date`);
  return ts;
}

/** MovieLens titles end with the release year, `Toy Story (1995)`: January 1st of it, else null. */
export function yearOfTitle(title: string): number | null {
  const m = /\((\d{4})(?:[-–]\d{0,4})?\)\s*$/.exec(title);
  return m ? Date.UTC(Number(m[1]), 0, 1) : null;
}

function title(raw: string): string {
  const text = raw.trim();
  if (text.length === 0) throw new BadFieldError('title', 'is empty');
  return text;
}

function fields(text: string, separator: string | RegExp, count: number, layout: string): string[] {
  const cells = text.split(separator);
  if (cells.length !== count) {
    throw new BadFieldError('line', `has ${cells.length} fields, expected ${count} (${layout})`);
  }
  return cells;
}
