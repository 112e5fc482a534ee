/**
 * Training examples as growable columns (models/FORMAT.md's example
 * columns), one row per example: a row can be written again in place, which
 * is how a newer copy of an `example_id` replaces an older one without
 * keeping either as an object.
 *
 * @example
 * ```ts
 * const columns = new ExampleColumns();
 * const row = columns.addRow();
 * columns.set(row, example, lookup);
 * ```
 */
import type { TrainingExample } from '../schemas/generated/types.js';
import {
  CROSS_DENSE,
  encodeCategories,
  encodeContext,
  encodeCrossDense,
  encodeHistory,
  encodeItemDense,
  encodeUserCategorical,
  encodeUserDense,
  HISTORY_LENGTH,
  ITEM_DENSE,
  type Lookup,
  MAX_CATEGORIES,
  typeIndex,
  USER_DENSE,
  type VocabularyKind,
} from './encoding.js';

type Typed = Int32Array | Float32Array | Float64Array | Uint8Array | Int8Array;
type TypedConstructor = new (length: number) => Typed;

/** One column: dtype on disk, width per row, and the vocabulary of each lane (null: not categorical). */
export interface ColumnSpec {
  readonly name: string;
  readonly dtype: 'int64' | 'float32' | 'uint8' | 'int8';
  readonly width: number;
  readonly lanes: readonly (VocabularyKind | null)[];
  readonly memory: TypedConstructor;
}

const lanes = (kind: VocabularyKind | null, width: number) => Array.from({ length: width }, () => kind);

export const EXAMPLE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'user', dtype: 'int64', width: 1, lanes: ['user'], memory: Int32Array },
  { name: 'item', dtype: 'int64', width: 1, lanes: ['item'], memory: Int32Array },
  { name: 'ts', dtype: 'int64', width: 1, lanes: [null], memory: Float64Array },
  { name: 'type', dtype: 'int64', width: 1, lanes: [null], memory: Int32Array },
  { name: 'label', dtype: 'float32', width: 1, lanes: [null], memory: Float32Array },
  { name: 'positive', dtype: 'uint8', width: 1, lanes: [null], memory: Uint8Array },
  { name: 'weight', dtype: 'float32', width: 1, lanes: [null], memory: Float32Array },
  { name: 'clicked', dtype: 'int8', width: 1, lanes: [null], memory: Int8Array },
  { name: 'engagement', dtype: 'float32', width: 1, lanes: [null], memory: Float32Array },
  {
    name: 'history_items',
    dtype: 'int64',
    width: HISTORY_LENGTH,
    lanes: lanes('item', HISTORY_LENGTH),
    memory: Int32Array,
  },
  {
    name: 'history_types',
    dtype: 'int64',
    width: HISTORY_LENGTH,
    lanes: lanes(null, HISTORY_LENGTH),
    memory: Int32Array,
  },
  {
    name: 'user_cat',
    dtype: 'int64',
    width: 3,
    lanes: ['country', 'language', 'age_bucket'],
    memory: Int32Array,
  },
  {
    name: 'context_cat',
    dtype: 'int64',
    width: 4,
    lanes: ['device', 'country', 'surface', null],
    memory: Int32Array,
  },
  {
    name: 'user_dense',
    dtype: 'float32',
    width: USER_DENSE.length,
    lanes: lanes(null, USER_DENSE.length),
    memory: Float32Array,
  },
  {
    name: 'item_categories',
    dtype: 'int64',
    width: MAX_CATEGORIES,
    lanes: lanes('category', MAX_CATEGORIES),
    memory: Int32Array,
  },
  { name: 'item_language', dtype: 'int64', width: 1, lanes: ['language'], memory: Int32Array },
  {
    name: 'item_dense',
    dtype: 'float32',
    width: ITEM_DENSE.length,
    lanes: lanes(null, ITEM_DENSE.length),
    memory: Float32Array,
  },
  {
    name: 'cross_dense',
    dtype: 'float32',
    width: CROSS_DENSE.length,
    lanes: lanes(null, CROSS_DENSE.length),
    memory: Float32Array,
  },
];

type ColumnName = (typeof EXAMPLE_COLUMNS)[number]['name'];

export class ExampleColumns {
  private capacity = 1024;
  private rows = 0;
  private readonly data = new Map<string, Typed>();

  constructor() {
    for (const spec of EXAMPLE_COLUMNS) this.data.set(spec.name, new spec.memory(this.capacity * spec.width));
  }

  get length(): number {
    return this.rows;
  }

  column(name: ColumnName | string): Typed {
    return this.data.get(name)!;
  }

  addRow(): number {
    if (this.rows === this.capacity) {
      this.capacity *= 2;
      for (const spec of EXAMPLE_COLUMNS) {
        const grown = new spec.memory(this.capacity * spec.width);
        grown.set(this.data.get(spec.name)! as never);
        this.data.set(spec.name, grown);
      }
    }
    return this.rows++;
  }

  /** Encodes an example into `row`, categorical values through `lookup`. */
  set(row: number, example: TrainingExample, lookup: Lookup): void {
    const i32 = (name: string) => this.data.get(name) as Int32Array;
    const f32 = (name: string) => this.data.get(name) as Float32Array;
    const { labels, user, item } = example;
    i32('user')[row] = lookup('user', example.user_id);
    i32('item')[row] = lookup('item', example.item_id);
    (this.data.get('ts') as Float64Array)[row] = example.ts;
    i32('type')[row] = typeIndex(example.type);
    f32('label')[row] = labels.label;
    (this.data.get('positive') as Uint8Array)[row] = labels.positive ? 1 : 0;
    f32('weight')[row] = labels.weight;
    (this.data.get('clicked') as Int8Array)[row] = labels.clicked === null ? -1 : labels.clicked ? 1 : 0;
    f32('engagement')[row] = labels.watch_fraction ?? Number.NaN;
    encodeHistory(user, lookup, i32('history_items'), i32('history_types'), row * HISTORY_LENGTH);
    encodeUserCategorical(user, lookup, i32('user_cat'), row * 3);
    encodeContext(example.context, example.ts, lookup, i32('context_cat'), row * 4);
    encodeUserDense(user, example.ts, f32('user_dense'), row * USER_DENSE.length);
    encodeCategories(item.categories, lookup, i32('item_categories'), row * MAX_CATEGORIES);
    i32('item_language')[row] = lookup('language', item.language);
    encodeItemDense(item, example.ts, example.context.country, f32('item_dense'), row * ITEM_DENSE.length);
    encodeCrossDense(user, item, example.item_id, f32('cross_dense'), row * CROSS_DENSE.length);
  }
}
