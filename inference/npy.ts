/**
 * NumPy `.npy` files (little endian, C order; formats 1.0 to 3.0 are read,
 * 1.0 is written): the columns of a training set and the item embeddings
 * of a model. Reading checks the header against the file's size, so a truncated file is an
 * error naming it, never a short array; `NpyWriter` streams rows into a
 * file whose final shape is known up front and checks the count at close,
 * so the trainer never holds a whole column twice.
 *
 * @example
 * ```ts
 * const writer = await NpyWriter.create('ts.npy', 'int64', [n]);
 * for (const chunk of chunks) await writer.write(chunk); // BigInt64Array, whole rows
 * await writer.close();
 * const { shape, data } = await readNpyFile('ts.npy'); // [n], BigInt64Array
 * ```
 */
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { CorruptDataError, storageErrorFrom } from '../runtime/errors.js';

export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8';
export type NpyArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

/** A parsed `.npy` file: `data` holds the elements in C order (row-major). */
export interface Npy {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: NpyArray;
}

const DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  int8: '|i1',
  uint8: '|u1',
};
// NumPy writes '|' (no byte order) for one-byte types, but '<' is legal there too.
const BY_DESCR = new Map<string, NpyDtype>(
  Object.entries(DESCR).flatMap(([dtype, descr]) => [
    [descr, dtype as NpyDtype],
    [`<${descr.slice(1)}`, dtype as NpyDtype],
  ]),
);
const CONSTRUCTOR = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
  uint8: Uint8Array,
} as const;
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
// Magic, version and a 2-byte (1.0) or 4-byte (2.0, 3.0) header length.
const PREAMBLE_V1 = 10;
const PREAMBLE_V2 = 12;

const elements = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/** The dtype a typed array is written as. */
function dtypeOf(data: NpyArray): NpyDtype {
  for (const [dtype, Ctor] of Object.entries(CONSTRUCTOR)) if (data instanceof Ctor) return dtype as NpyDtype;
  throw new TypeError(`no .npy dtype for a ${(data as object).constructor.name}`);
}

function checkShape(shape: readonly number[], what: string): void {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new RangeError(`${what}: shape [${shape.join(', ')}] is not a list of non-negative integers`);
}

function header(dtype: NpyDtype, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Padded so the data starts 64-byte aligned (as NumPy does): a memory map of it is aligned for every dtype.
  const text = dict + ' '.repeat((64 - ((PREAMBLE_V1 + dict.length + 1) % 64)) % 64) + '\n';
  const out = Buffer.alloc(PREAMBLE_V1 + text.length);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(text.length, 8);
  out.write(text, PREAMBLE_V1, 'latin1');
  return out;
}

/**
 * Parses the bytes of a whole `.npy` file; `name` (the file) is in every
 * error. The data is copied out of `bytes` into a buffer of its own.
 *
 * @example
 * ```ts
 * const table = readNpy(await readFile(path), 'item_embeddings.npy');
 * const dims = table.shape[1]!;
 * ```
 */
export function readNpy(bytes: Uint8Array, name: string): Npy {
  const file = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (file.length < PREAMBLE_V1 || !file.subarray(0, 6).equals(MAGIC))
    throw new CorruptDataError(`${name} is not a .npy file (no \\x93NUMPY magic)`);
  const major = file[6]!;
  if (major < 1 || major > 3)
    throw new CorruptDataError(`${name} is .npy format ${major}.${file[7]}; formats 1.0 to 3.0 are read`);
  const preamble = major === 1 ? PREAMBLE_V1 : PREAMBLE_V2;
  if (file.length < preamble) throw new CorruptDataError(`${name} is truncated inside its header`);
  const start = preamble + (major === 1 ? file.readUInt16LE(8) : file.readUInt32LE(8));
  if (file.length < start) throw new CorruptDataError(`${name} is truncated inside its header`);
  const text = file.toString(major === 3 ? 'utf8' : 'latin1', preamble, start);
  const descr = /['"]descr['"]:\s*['"]([^'"]+)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]:\s*\(([^)]*)\)/.exec(text)?.[1];
  const dtype = descr === undefined ? undefined : BY_DESCR.get(descr);
  if (!dtype)
    throw new CorruptDataError(
      `${name} has dtype ${descr ?? '(none)'}; little-endian ${Object.keys(DESCR).join(', ')} are read`,
    );
  if (fortran !== 'False') throw new CorruptDataError(`${name} is not in C order; only C order is read`);
  if (shapeText === undefined) throw new CorruptDataError(`${name} has no shape in its header`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new CorruptDataError(`${name} has an invalid shape (${shapeText}) in its header`);
  const Ctor = CONSTRUCTOR[dtype];
  const expected = elements(shape) * Ctor.BYTES_PER_ELEMENT;
  const actual = file.length - start;
  if (actual !== expected)
    throw new CorruptDataError(
      `${name} is ${actual < expected ? 'truncated' : 'longer than its header says'}: ` +
        `${dtype} [${shape.join(', ')}] needs ${expected} bytes of data, the file has ${actual}`,
    );
  // A copy into a fresh buffer: typed arrays need offsets aligned to their element size.
  const data = new Ctor(elements(shape));
  new Uint8Array(data.buffer).set(file.subarray(start, start + expected));
  return { dtype, shape, data };
}

/**
 * Reads a `.npy` file whole.
 *
 * @example
 * ```ts
 * const users = await readNpyFile(join(datasetDir, 'user.npy')); // int64 [N]
 * ```
 */
export async function readNpyFile(path: string): Promise<Npy> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw storageErrorFrom(err, `reading ${path}`);
  }
  return readNpy(bytes, path);
}

/**
 * Writes a `.npy` file of a shape known up front, chunk by chunk. Each
 * chunk is whole rows (of `shape[0]`) in C order, of the writer's dtype;
 * `close` fails unless exactly the shape's elements were written.
 *
 * @example
 * ```ts
 * const writer = await NpyWriter.create(join(dir, 'history_items.npy'), 'int64', [n, 20]);
 * await writer.write(firstRows);   // BigInt64Array of rows × 20
 * await writer.write(otherRows);
 * await writer.close();
 * ```
 */
export class NpyWriter {
  private written = 0;

  private constructor(
    private readonly file: FileHandle,
    private readonly path: string,
    private readonly dtype: NpyDtype,
    private readonly total: number,
    private readonly rowWidth: number,
  ) {}

  static async create(path: string, dtype: NpyDtype, shape: readonly number[]): Promise<NpyWriter> {
    checkShape(shape, path);
    let file: FileHandle | undefined;
    try {
      file = await open(path, 'w');
      await file.write(header(dtype, shape));
    } catch (err) {
      await file?.close();
      throw storageErrorFrom(err, `writing ${path}`);
    }
    return new NpyWriter(file, path, dtype, elements(shape), elements(shape.slice(1)));
  }

  /** Appends whole rows, flattened in C order. */
  async write(chunk: NpyArray): Promise<void> {
    if (!(chunk instanceof CONSTRUCTOR[this.dtype]))
      throw new TypeError(`${this.path}: a ${chunk.constructor.name} chunk for a ${this.dtype} column`);
    if (this.rowWidth > 0 && chunk.length % this.rowWidth !== 0)
      throw new RangeError(
        `${this.path}: a chunk of ${chunk.length} elements is not whole rows of ${this.rowWidth}`,
      );
    if (this.written + chunk.length > this.total)
      throw new RangeError(
        `${this.path}: ${this.written + chunk.length} elements written, the shape holds ${this.total}`,
      );
    try {
      await this.file.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (err) {
      throw storageErrorFrom(err, `writing ${this.path}`);
    }
    this.written += chunk.length;
  }

  /** Closes the file; throws if fewer elements than the shape's were written. */
  async close(): Promise<void> {
    try {
      await this.file.close();
    } catch (err) {
      throw storageErrorFrom(err, `writing ${this.path}`);
    }
    if (this.written !== this.total)
      throw new RangeError(`${this.path}: ${this.written} elements written, the shape needs ${this.total}`);
  }
}

/**
 * Writes a whole typed array as a `.npy` file; the dtype follows the array
 * and `shape` defaults to one dimension.
 *
 * @example
 * ```ts
 * await writeNpy('embeddings.npy', vectors, [rows, dims]); // float32 [rows, dims]
 * ```
 */
export async function writeNpy(
  path: string,
  data: NpyArray,
  shape: readonly number[] = [data.length],
): Promise<void> {
  const writer = await NpyWriter.create(path, dtypeOf(data), shape);
  await writer.write(data);
  await writer.close();
}
