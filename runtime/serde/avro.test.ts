import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeAvro, parseAvroType } from './avro.js';

test('encodeAvro writes the bytes toBuffer writes, in buffers of their own, also past its scratch size', () => {
  const type = parseAvroType({
    type: 'record',
    name: 'Blob',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'tags', type: { type: 'map', values: 'long' } },
    ],
  });
  const small = { id: 'a', tags: { x: 1 } };
  const large = {
    id: 'b'.repeat(40_000),
    tags: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`t${i}`, i])),
  };
  const first = encodeAvro(type, small);
  assert.deepEqual(first, type.toBuffer(small));
  const big = encodeAvro(type, large);
  assert.deepEqual(big, type.toBuffer(large));
  assert.deepEqual(encodeAvro(type, small), first);
  assert.deepEqual(first, type.toBuffer(small), 'a later encoding does not overwrite an earlier result');
  assert.deepEqual(type.fromBuffer(big), large);
});
