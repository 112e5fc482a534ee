import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';
import { seededRandom } from '../bench/interaction-load.js';
import { firstInvalidUtf8 } from './utf8.js';

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

test('firstInvalidUtf8 agrees with Buffer isUtf8 on random bytes, and the bytes before it are valid', () => {
  const random = seededRandom(11);
  for (let n = 0; n < 5000; n++) {
    const bytes = Buffer.from(
      Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256)),
    );
    const at = firstInvalidUtf8(bytes);
    assert.equal(at === -1, isUtf8(bytes), bytes.toString('hex'));
    if (at >= 0) assert.ok(isUtf8(bytes.subarray(0, at)), bytes.toString('hex'));
  }
});
