import assert from 'node:assert/strict';
import { test } from 'node:test';
import { widenInt32 } from './int64.js';

test('widenInt32 gives every int32, negative and extreme ones too, the value BigInt gives it', () => {
  const values = Int32Array.from([0, 1, -1, 7, -300, 2 ** 31 - 1, -(2 ** 31), 123_456_789]);
  assert.deepEqual(
    widenInt32(values),
    BigInt64Array.from(values, (v) => BigInt(v)),
  );
});

test('widenInt32 writes into a column from an offset and leaves the rest as it was', () => {
  const column = BigInt64Array.from([9n, 9n, 9n, 9n, 9n]);
  const out = widenInt32(Int32Array.from([-5, 6]), column, 2);
  assert.equal(out, column);
  assert.deepEqual([...column], [9n, 9n, -5n, 6n, 9n]);
});
