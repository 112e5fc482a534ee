import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeUser } from '../runtime/observability/user-hash.js';
import { decodeMetadata, decodeUtf8 } from './text.js';
import {
  BadFieldError,
  parseId,
  parseInteractionType,
  parseTimestamp,
  parseUserId,
  parseValue,
} from './values.js';

const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof BadFieldError && pattern.test(e.message));

test('timestamps: unix seconds, milliseconds and ISO-8601; auto tells seconds from milliseconds', () => {
  assert.equal(parseTimestamp('ts', '881250949', 's'), 881_250_949_000);
  assert.equal(parseTimestamp('ts', '881250949', 'auto'), 881_250_949_000);
  assert.equal(parseTimestamp('ts', '1700000000123', 'auto'), 1_700_000_000_123);
  assert.equal(parseTimestamp('ts', '1700000000123', 'ms'), 1_700_000_000_123);
  assert.equal(parseTimestamp('ts', '2024-05-01T10:00:00Z', 'auto'), Date.UTC(2024, 4, 1, 10));
  assert.equal(parseTimestamp('ts', '0', 's'), 0);
});

test('bad timestamps name the field and the value', () => {
  refused(() => parseTimestamp('ts', '-5', 's'), /^ts: "-5" is before 1970/);
  refused(() => parseTimestamp('ts', 'yesterday', 'auto'), /^ts: "yesterday" is not a timestamp/);
  refused(() => parseTimestamp('ts', '12.5', 's'), /not a whole number of seconds/);
  refused(() => parseTimestamp('ts', '2024-05-01', 'ms'), /not a whole number of milliseconds/);
  refused(() => parseTimestamp('ts', '99999999999999999999', 'ms'), /out of range/);
  refused(() => parseTimestamp('ts', '', 'auto'), /^ts: is empty/);
  refused(() => parseTimestamp('ts', undefined, 'auto'), /^ts: is missing/);
});

test('ids: trimmed, never empty, no control characters, bounded length', () => {
  assert.equal(parseId('user_id', ' 42 '), '42');
  refused(() => parseId('user_id', ''), /^user_id: is empty/);
  refused(() => parseId('item_id', 'a\u0000b'), /^item_id: contains a control character/);
  refused(() => parseId('item_id', 'x'.repeat(513)), /513 characters long/);
});

test('a refused user id is named by its keyed hash, never as it was read', () => {
  const broken = 'user-3d9a-secret\u0001';
  assert.throws(
    () => parseUserId('user_id', broken),
    (e: unknown) =>
      e instanceof BadFieldError &&
      e.message === `user_id: contains a control character: ${describeUser(broken)}` &&
      !e.message.includes('user-3d9a-secret'),
  );
  assert.equal(parseUserId('user_id', ' u42 '), 'u42');
});

test('values: numbers or empty; words, NaN and hex are not numbers', () => {
  assert.equal(parseValue('value', '4.5'), 4.5);
  assert.equal(parseValue('value', '-1e2'), -100);
  assert.equal(parseValue('value', ''), null);
  for (const bad of ['abc', 'NaN', 'Infinity', '0x10', '1,5'])
    refused(() => parseValue('value', bad), /is not a number/);
});

test('interaction types: the schema symbols, others refused with the list', () => {
  assert.equal(parseInteractionType('type', 'rate'), 'rate');
  refused(
    () => parseInteractionType('type', 'purchase'),
    /"purchase" is not an interaction type \(one of impression, view/,
  );
});

test('event text must be UTF-8; metadata falls back to Latin-1', () => {
  assert.equal(decodeUtf8(Buffer.from('ação')), 'ação');
  refused(() => decodeUtf8(Buffer.from([0x61, 0x62, 0xff])), /^line: invalid UTF-8 at byte 2/);
  assert.equal(decodeMetadata(Buffer.from([0x43, 0x61, 0x66, 0xe9])), 'Café');
  assert.equal(decodeMetadata(Buffer.from('Café')), 'Café');
});
