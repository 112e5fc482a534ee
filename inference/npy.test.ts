import assert from 'node:assert/strict';
import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CorruptDataError } from '../runtime/errors.js';
import { missingService } from '../test/skips.js';
import { type NpyArray, NpyWriter, readNpy, readNpyFile, writeNpy } from './npy.js';
import { findPython, runPython, withTempDir } from './test-support.js';

const SAMPLES: [string, NpyArray, number[]][] = [
  ['float32', Float32Array.from([0.5, -1.25, Number.NaN, 3e38, -0, 7]), [2, 3]],
  ['float64', Float64Array.from([Math.PI, -1e-300, Number.POSITIVE_INFINITY]), [3]],
  ['int64', BigInt64Array.from([0n, -1n, 2n ** 62n, -(2n ** 63n)]), [4]],
  ['int32', Int32Array.from([1, -2, 2 ** 31 - 1, -(2 ** 31), 5, 6, 7, 8]), [2, 2, 2]],
  ['int8', Int8Array.from([-128, 127, 0, -1, 1, 2]), [6, 1]],
  ['uint8', Uint8Array.from([0, 255, 1]), [3]],
];

test('every dtype round-trips through writeNpy and readNpyFile, shape and values intact', async () => {
  await withTempDir(async (dir) => {
    for (const [dtype, data, shape] of SAMPLES) {
      const path = join(dir, `${dtype}.npy`);
      await writeNpy(path, data, shape);
      const read = await readNpyFile(path);
      assert.equal(read.dtype, dtype);
      assert.deepEqual(read.shape, shape);
      assert.deepEqual(read.data, data, dtype);
      // The data starts 64-byte aligned, as NumPy writes it.
      assert.equal(((await stat(path)).size - data.byteLength) % 64, 0, dtype);
    }
    await writeNpy(join(dir, 'empty.npy'), new Float32Array(0), [0, 8]);
    assert.deepEqual((await readNpyFile(join(dir, 'empty.npy'))).shape, [0, 8]);
  });
});

test('NpyWriter streams whole rows and checks the count at close', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'history.npy');
    const writer = await NpyWriter.create(path, 'int64', [5, 3]);
    await writer.write(BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]));
    await writer.write(BigInt64Array.from([7n, 8n, 9n]));
    await assert.rejects(writer.write(new BigInt64Array(2)), RangeError, 'not whole rows');
    await assert.rejects(writer.write(new Int32Array(3)), TypeError, 'another dtype');
    await writer.write(BigInt64Array.from([10n, 11n, 12n, 13n, 14n, 15n]));
    await assert.rejects(writer.write(new BigInt64Array(3)), /18 elements written, the shape holds 15/);
    await writer.close();
    const read = await readNpyFile(path);
    assert.deepEqual(read.shape, [5, 3]);
    assert.deepEqual(
      read.data,
      BigInt64Array.from({ length: 15 }, (_, i) => BigInt(i + 1)),
    );

    const short = await NpyWriter.create(join(dir, 'short.npy'), 'float32', [4]);
    await short.write(new Float32Array(3));
    await assert.rejects(short.close(), /3 elements written, the shape needs 4/);
  });
});

test('a truncated or padded file is an error naming it, never a short array', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'item_embeddings.npy');
    await writeNpy(path, new Float32Array(100 * 8), [100, 8]);
    const size = (await stat(path)).size;
    await truncate(path, size - 4);
    await assert.rejects(readNpyFile(path), (err: Error) => {
      assert.ok(err instanceof CorruptDataError);
      assert.match(err.message, /item_embeddings\.npy is truncated: float32 \[100, 8\] needs 3200 bytes/);
      return true;
    });
    await truncate(path, 40);
    await assert.rejects(readNpyFile(path), /item_embeddings\.npy is truncated inside its header/);
    await writeNpy(path, new Uint8Array(4));
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from([0])]));
    await assert.rejects(readNpyFile(path), /longer than its header says/);
  });
});

test('headers the reader refuses say why; format 2.0 headers are read', () => {
  const v1 = (dict: string) => {
    const text = dict.padEnd(118, ' ') + '\n';
    const head = Buffer.alloc(10);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
    head.writeUInt16LE(text.length, 8);
    return Buffer.concat([head, Buffer.from(text, 'latin1')]);
  };
  const data = Buffer.alloc(8);
  assert.throws(() => readNpy(Buffer.from('PK\x03\x04 not numpy'), 'x.npy'), /x\.npy is not a \.npy file/);
  assert.throws(
    () =>
      readNpy(
        Buffer.concat([v1("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"), data]),
        'be.npy',
      ),
    /be\.npy has dtype >f4; little-endian/,
  );
  assert.throws(
    () =>
      readNpy(Buffer.concat([v1("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }"), data]), 'f.npy'),
    /f\.npy is not in C order/,
  );
  assert.throws(
    () =>
      readNpy(
        Buffer.concat([v1("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"), data]),
        'c.npy',
      ),
    /c\.npy has dtype <c8/,
  );

  const dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }".padEnd(115, ' ') + '\n';
  const head = Buffer.alloc(12);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]).copy(head);
  head.writeUInt32LE(dict.length, 8);
  const v2 = readNpy(
    Buffer.concat([head, Buffer.from(dict), Buffer.from(Int32Array.from([7, -7]).buffer)]),
    'v2.npy',
  );
  assert.deepEqual(v2.data, Int32Array.from([7, -7]));
});

test('NumPy reads what the writer writes, and the reader reads what NumPy writes', async (t) => {
  const python = findPython(['numpy']);
  if (!python.found) return missingService(t, python.reason);
  await withTempDir(async (dir) => {
    for (const [dtype, data, shape] of SAMPLES) await writeNpy(join(dir, `${dtype}.npy`), data, shape);
    // NumPy loads each file and saves what it understood; reading that back shows it understood all of it.
    const script = `
import sys, numpy as np
d = sys.argv[1]
for name in sys.argv[2:]:
    np.save(f'{d}/{name}.numpy.npy', np.load(f'{d}/{name}.npy'))
np.save(f'{d}/ints.npy', np.arange(12, dtype=np.int64).reshape(3, 4) - 5)
np.save(f'{d}/floats.npy', np.linspace(0, 1, 5, dtype=np.float32))
`;
    runPython(python.found!, script, [dir, ...SAMPLES.map(([dtype]) => dtype)]);
    for (const [dtype, data, shape] of SAMPLES) {
      const back = await readNpyFile(join(dir, `${dtype}.numpy.npy`));
      assert.equal(back.dtype, dtype);
      assert.deepEqual(back.shape, shape);
      assert.deepEqual(back.data, data, dtype);
    }
    const ints = await readNpyFile(join(dir, 'ints.npy'));
    assert.equal(ints.dtype, 'int64');
    assert.deepEqual(ints.shape, [3, 4]);
    assert.deepEqual(
      ints.data,
      BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i - 5)),
    );
    assert.deepEqual(
      (await readNpyFile(join(dir, 'floats.npy'))).data,
      Float32Array.from([0, 0.25, 0.5, 0.75, 1]),
    );
  });
});
