import assert from 'node:assert/strict';
import { test } from 'node:test';
import { avroCodec } from './avro-codec.js';

interface View {
  n: number;
  counts: Record<string, number>;
}

const codec = avroCodec<View>(
  {
    type: 'record',
    name: 'View',
    fields: [
      { name: 'n', type: 'long' },
      { name: 'counts', type: { type: 'map', values: 'double' } },
    ],
  },
  { topLevelMaps: ['counts'] },
);

test('equal views give equal bytes whatever order their map entries were added in, and the value is left as it was', () => {
  const ordered: View = { n: 1, counts: { a: 1, b: 2, c: 3 } };
  const shuffled: View = { n: 1, counts: { c: 3, a: 1, b: 2 } };
  assert.deepEqual(codec.encode(shuffled), codec.encode(ordered));
  assert.deepEqual(
    Object.keys(shuffled.counts),
    ['c', 'a', 'b'],
    'encoding does not reorder the view itself',
  );
  assert.deepEqual({ ...codec.decode(codec.encode(shuffled)) }, ordered);
});
