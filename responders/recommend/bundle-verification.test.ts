import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servedIndexFile } from './bundle-verification.js';

const copy = (quantization: string) => ({
  quantized: { file: `index-${quantization}.usearch`, quantization, recall_at_10: 0.97 },
});

test('an index version is searched through its f16 copy unless the f32 index is asked for', () => {
  assert.equal(servedIndexFile(copy('f16'), 'f16'), 'index-f16.usearch');
  assert.equal(servedIndexFile(copy('f16'), 'f32'), 'index.usearch');
  assert.equal(servedIndexFile({}, 'f16'), 'index.usearch', 'a version indexed without a copy');
});

test('an i8 copy is never searched: it ranks by cosine, not by the inner product', () => {
  assert.equal(servedIndexFile(copy('i8'), 'f16'), 'index.usearch');
  assert.equal(servedIndexFile(copy('i8'), 'f32'), 'index.usearch');
});
