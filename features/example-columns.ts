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
  encodeCategories,
  encodeContext,
  encodeCrossDense,
  encodeHistoryItems,
  encodeHistoryTypes,
  encodeItemDense,
  encodeUserCategorical,
  encodeUserDense,
  type Lookup,
  typeIndex,
} from './encoding.js';
import {
  EXAMPLE_FEATURES,
  type FeatureDeclaration,
  featureWidth,
  type VocabularyKind,
} from './feature-service.js';

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

/** How a column is held while a set is gathered: ids as int32, epoch-ms times as float64 (past int32). */
function memoryOf(declaration: FeatureDeclaration): TypedConstructor {
  if (declaration.kind === 'timestamp') return Float64Array;
  switch (declaration.dtype) {
    case 'int64':
      return Int32Array;
    case 'float32':
      return Float32Array;
    case 'uint8':
      return Uint8Array;
    default:
      return Int8Array;
  }
}

/** The example columns of the declaration (EXAMPLE_FEATURES), in file order. */
export const EXAMPLE_COLUMNS: readonly ColumnSpec[] = EXAMPLE_FEATURES.map((declaration) => ({
  name: declaration.name,
  dtype: declaration.dtype,
  width: featureWidth(declaration),
  lanes: declaration.lanes,
  memory: memoryOf(declaration),
}));

type ColumnName = (typeof EXAMPLE_FEATURES)[number]['name'];
type Writer = (example: TrainingExample, lookup: Lookup, column: Typed, row: number, width: number) => void;

/** How each declared column is written from an example: one entry per column, checked by the type. */
const WRITERS: Readonly<Record<ColumnName, Writer>> = {
  user: (example, lookup, column, row) => {
    column[row] = lookup('user', example.user_id);
  },
  item: (example, lookup, column, row) => {
    column[row] = lookup('item', example.item_id);
  },
  ts: (example, _lookup, column, row) => {
    column[row] = example.ts;
  },
  type: (example, _lookup, column, row) => {
    column[row] = typeIndex(example.type);
  },
  label: (example, _lookup, column, row) => {
    column[row] = example.labels.label;
  },
  positive: (example, _lookup, column, row) => {
    column[row] = example.labels.positive ? 1 : 0;
  },
  weight: (example, _lookup, column, row) => {
    column[row] = example.labels.weight;
  },
  clicked: (example, _lookup, column, row) => {
    const clicked = example.labels.clicked;
    column[row] = clicked === null ? -1 : clicked ? 1 : 0;
  },
  engagement: (example, _lookup, column, row) => {
    column[row] = example.labels.watch_fraction ?? Number.NaN;
  },
  history_items: (example, lookup, column, row, width) => {
    encodeHistoryItems(example.user, lookup, column as Int32Array, row * width);
  },
  history_types: (example, _lookup, column, row, width) => {
    encodeHistoryTypes(example.user, column as Int32Array, row * width);
  },
  user_cat: (example, lookup, column, row, width) => {
    encodeUserCategorical(example.user, lookup, column as Int32Array, row * width);
  },
  context_cat: (example, lookup, column, row, width) => {
    encodeContext(example.context, example.ts, lookup, column as Int32Array, row * width);
  },
  user_dense: (example, _lookup, column, row, width) => {
    encodeUserDense(example.user, example.ts, column as Float32Array, row * width);
  },
  item_categories: (example, lookup, column, row, width) => {
    encodeCategories(example.item.categories, lookup, column as Int32Array, row * width);
  },
  item_language: (example, lookup, column, row) => {
    column[row] = lookup('language', example.item.language);
  },
  item_dense: (example, _lookup, column, row, width) => {
    encodeItemDense(example.item, example.ts, example.context.country, column as Float32Array, row * width);
  },
  cross_dense: (example, _lookup, column, row, width) => {
    encodeCrossDense(example.user, example.item, example.item_id, column as Float32Array, row * width);
  },
};

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

  /** Encodes an example into `row`, categorical values through `lookup`, column by column in file order. */
  set(row: number, example: TrainingExample, lookup: Lookup): void {
    for (const spec of EXAMPLE_COLUMNS)
      WRITERS[spec.name as ColumnName](example, lookup, this.data.get(spec.name)!, row, spec.width);
  }
}
