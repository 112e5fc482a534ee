/**
 * NumPy `.npy` files (format 1.0 and 2.0, little endian, C order): the
 * columns of a training set and the item embeddings of a model. `readNpy`
 * checks the header against the file's size, so a truncated file is an
 * error naming it, never a short array; `NpyWriter` streams rows into a
 * file whose final shape is known up front and checks the count at close.
 *
 * @example
 * ```ts
 * const writer = await NpyWriter.create('ts.npy', 'int64', [n]);
 * await writer.write(BigInt64Array.from(times, BigInt));
 * await writer.close();
 * const { shape, data } = readNpy(await readFile('ts.npy'), 'ts.npy');
 * ```
 */
import { type FileHandle, open } from 'node:fs/promises';
import { CorruptDataError } from '../runtime/errors.js';

export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8';
export type NpyArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

const DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  int8: '|i1',
  uint8: '|u1',
};
const BY_DESCR = new Map<string, NpyDtype>(
  Object.entries(DESCR).flatMap(([dtype, descr]) => [
    [descr, dtype as NpyDtype],
    [descr.replace('|', '<'), dtype as NpyDtype],
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

export interface Npy {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: NpyArray;
}

const elements = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

function header(dtype: NpyDtype, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Version 1.0: the preamble (10 bytes) plus the header is padded with spaces to a multiple of 64, ending in \n.
  const unpadded = 10 + dict.length + 1;
  const text = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + text.length);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(text.length, 8);
  out.write(text, 10, 'latin1');
  return out;
}

/** Parses a whole `.npy` file; `name` is used in errors. */
export function readNpy(bytes: Buffer, name: string): Npy {
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC))
    throw new CorruptDataError(`${name} is not a .npy file (bad magic)`);
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  if (bytes.length < start) throw new CorruptDataError(`${name} is truncated inside its header`);
  const text = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  const dtype = descr === undefined ? undefined : BY_DESCR.get(descr);
  if (!dtype)
    throw new CorruptDataError(
      `${name} has dtype ${descr ?? '?'}; expected one of ${Object.keys(DESCR).join(', ')}`,
    );
  if (fortran !== 'False') throw new CorruptDataError(`${name} is in Fortran order; only C order is read`);
  if (shapeText === undefined) throw new CorruptDataError(`${name} has no shape in its header`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const Ctor = CONSTRUCTOR[dtype];
  const expected = elements(shape) * Ctor.BYTES_PER_ELEMENT;
  if (bytes.length - start < expected)
    throw new CorruptDataError(
      `${name} is truncated: shape [${shape.join(', ')}] needs ${expected} bytes of data, the file has ${bytes.length - start}`,
    );
  // Copied into an aligned buffer: typed arrays need offsets aligned to their element size.
  const data = new Ctor(elements(shape));
  Buffer.from(data.buffer).set(bytes.subarray(start, start + expected));
  return { dtype, shape, data };
}

/** Writes a `.npy` file of a known shape, chunk by chunk. */
export class NpyWriter {
  private written = 0;

  private constructor(
    private readonly file: FileHandle,
    private readonly path: string,
    private readonly dtype: NpyDtype,
    private readonly total: number,
  ) {}

  static async create(path: string, dtype: NpyDtype, shape: readonly number[]): Promise<NpyWriter> {
    const file = await open(path, 'w');
    await file.write(header(dtype, shape));
    return new NpyWriter(file, path, dtype, elements(shape));
  }

  /** Appends elements (rows flattened in C order) of this writer's dtype. */
  async write(chunk: NpyArray): Promise<void> {
    if (!(chunk instanceof CONSTRUCTOR[this.dtype]))
      throw new TypeError(`${this.path}: a ${chunk.constructor.name} chunk for a ${this.dtype} column`);
    if (this.written + chunk.length > this.total)
      throw new RangeError(
        `${this.path}: ${this.written + chunk.length} elements written, the shape holds ${this.total}`,
      );
    await this.file.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.written += chunk.length;
  }

  async close(): Promise<void> {
    await this.file.close();
    if (this.written !== this.total)
      throw new RangeError(`${this.path}: ${this.written} elements written, the shape needs ${this.total}`);
  }
}

/** Writes a whole array as a `.npy` file. */
export async function writeNpy(
  path: string,
  dtype: NpyDtype,
  shape: readonly number[],
  data: NpyArray,
): Promise<void> {
  const writer = await NpyWriter.create(path, dtype, shape);
  await writer.write(data);
  await writer.close();
}
