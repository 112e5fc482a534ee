import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BodyError, firstInvalidUtf8, parseJsonBody } from './json-body.js';

test('firstInvalidUtf8 finds the first byte that breaks UTF-8', () => {
  const cases: [number[], number][] = [
    [[0x61, 0xff], 1], // never valid
    [[0x61, 0x80], 1], // continuation without a lead byte
    [[0xc3, 0x28], 0], // lead byte followed by ASCII
    [[0xc0, 0xaf], 0], // overlong '/'
    [[0xe0, 0x80, 0xaf], 0], // overlong, three bytes
    [[0xed, 0xa0, 0x80], 0], // UTF-16 surrogate D800 encoded
    [[0xf4, 0x90, 0x80, 0x80], 0], // past U+10FFFF
    [[0x61, 0x62, 0xe2, 0x82], 2], // truncated at the end
    [[0xc3, 0xa9, 0xf0, 0x9f, 0x8e, 0xac, 0xff], 6], // é and 🎬 are fine
  ];
  for (const [bytes, at] of cases)
    assert.equal(firstInvalidUtf8(Uint8Array.from(bytes)), at, bytes.join(' '));
});

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
