import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BodyError, parseJsonBody } from './json-body.js';

test('parseJsonBody parses UTF-8 JSON and refuses the rest with a code', () => {
  assert.deepEqual(parseJsonBody(Buffer.from('[{"title":"Amélie 🎬"}]')), [{ title: 'Amélie 🎬' }]);
  assert.throws(
    () => parseJsonBody(Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d])),
    (err: unknown) =>
      err instanceof BodyError && err.code === 'INVALID_UTF8' && /byte 2 \(0xff\)/.test(err.message),
  );
  assert.throws(
    () => parseJsonBody(Buffer.from('{"a": }')),
    (err: unknown) => err instanceof BodyError && err.code === 'INVALID_JSON' && err.status === 400,
  );
});
