/**
 * Large JSON arrays moved between threads cheaply. Parsing a responder's
 * index manifest (94,000 `[item, key, ts]` rows, 2.9 MB) and its model's
 * vocabularies (1 MB) on the request thread held requests 20–40 ms each
 * during a swap; a thread parses them instead and sends the big arrays as
 * columns: strings joined into one string (one copy, split in ~3 ms),
 * numbers as a `Float64Array`. Structured-cloning the arrays themselves
 * would cost the receiving thread about as much as parsing.
 *
 * @example
 * ```ts
 * const lifted = liftArray(manifest.items);         // on the worker
 * const [ids, keys, ts] = dropColumns(lifted);       // on the thread that asked
 * dropArray(liftArray(['a', 'b']));                  // ['a', 'b']
 * ```
 */

/** One column of a lifted array: strings joined by `\n`, numbers, or (when a string holds `\n`) the values. */
export type LiftedColumn =
  | { readonly kind: 'strings'; readonly joined: string; readonly length: number }
  | { readonly kind: 'numbers'; readonly values: Float64Array }
  | { readonly kind: 'values'; readonly values: readonly unknown[] };

/** An array of scalars (one column) or of equal-length tuples (one column per position). */
export interface LiftedArray {
  /** Elements (rows) of the array. */
  readonly length: number;
  readonly tuples: boolean;
  readonly columns: readonly LiftedColumn[];
}

const SEPARATOR = '\n';

function liftColumn(values: readonly unknown[]): LiftedColumn {
  if (values.every((v) => typeof v === 'string' && !v.includes(SEPARATOR)))
    return { kind: 'strings', joined: values.join(SEPARATOR), length: values.length };
  if (values.every((v) => typeof v === 'number'))
    return { kind: 'numbers', values: Float64Array.from(values) };
  return { kind: 'values', values };
}

/** Columns of `array`: of its tuples' positions when every element is an array of one length, else of the array. */
export function liftArray(array: readonly unknown[]): LiftedArray {
  const width = Array.isArray(array[0]) ? (array[0] as unknown[]).length : -1;
  const tuples = width >= 0 && array.every((row) => Array.isArray(row) && row.length === width);
  if (!tuples) return { length: array.length, tuples: false, columns: [liftColumn(array)] };
  const columns: LiftedColumn[] = [];
  for (let j = 0; j < width; j++) columns.push(liftColumn(array.map((row) => (row as unknown[])[j])));
  return { length: array.length, tuples: true, columns };
}

function dropColumn(column: LiftedColumn): readonly unknown[] {
  if (column.kind === 'strings') return column.length === 0 ? [] : column.joined.split(SEPARATOR);
  if (column.kind === 'numbers') return Array.from(column.values);
  return column.values;
}

/** The columns of a lifted array: for tuples, one array per position (no row arrays are made). */
export function dropColumns(lifted: LiftedArray): (readonly unknown[])[] {
  return lifted.columns.map(dropColumn);
}

/** The array `liftArray` was given. */
export function dropArray(lifted: LiftedArray): unknown[] {
  const columns = dropColumns(lifted);
  if (!lifted.tuples) return [...columns[0]!];
  const rows: unknown[][] = new Array(lifted.length);
  for (let i = 0; i < lifted.length; i++) rows[i] = columns.map((column) => column[i]);
  return rows;
}
