import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateStoreError } from '../errors.js';
import { compareUtf8, inRange, prefixEnd, prefixedKey, storePrefix } from './keys.js';

test('compareUtf8 orders strings exactly as Buffer.compare orders their UTF-8 bytes', () => {
  const alphabet = [
    'a',
    'b',
    'é',
    '\u07ff',
    '\u0800',
    '\ud7ff',
    '\ue000',
    '\uffff',
    '\u{10000}',
    '\u{1F600}',
    '\u{10FFFF}',
    '',
  ];
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  const words = Array.from({ length: 300 }, () =>
    Array.from({ length: random() % 4 }, () => alphabet[random() % alphabet.length]).join(''),
  );
  for (const x of words) {
    for (const y of words.slice(0, 40)) {
      assert.equal(
        Math.sign(compareUtf8(x, y)),
        Buffer.compare(Buffer.from(x), Buffer.from(y)),
        `${JSON.stringify(x)} vs ${JSON.stringify(y)}`,
      );
    }
  }
});

test('store prefixes are prefix-free and bound their keys', () => {
  const a = storePrefix('a');
  const ab = storePrefix('a/b');
  assert.notDeepEqual(ab.subarray(0, a.length), a);
  const key = prefixedKey(a, '\u{1F600}');
  assert.ok(Buffer.compare(key, a) >= 0 && Buffer.compare(key, prefixEnd(a)) < 0);
  assert.throws(() => storePrefix(''), StateStoreError);
  assert.throws(() => storePrefix('bad\u0000name'), StateStoreError);
});

test('inRange treats missing bounds as open', () => {
  assert.ok(inRange('m', undefined, undefined));
  assert.ok(inRange('m', 'm', 'n'));
  assert.ok(!inRange('n', 'm', 'n'));
  assert.ok(!inRange('l', 'm', undefined));
});
