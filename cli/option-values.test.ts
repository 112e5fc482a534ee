import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../runtime/errors.js';
import { choiceOption, percentOption, wholeNumberOption } from './option-values.js';

test('a whole number option reads digits, with underscores, and falls back when absent', () => {
  assert.equal(wholeNumberOption(undefined, '--limit', 100), 100);
  assert.equal(wholeNumberOption('25', '--limit', 100), 25);
  assert.equal(wholeNumberOption('1_000_000', '--events', 1), 1_000_000);
  assert.equal(wholeNumberOption('0', '--seed', 1, { min: 0 }), 0);
  assert.equal(wholeNumberOption('1000', '--k', 20, { max: 1000 }), 1000);
});

test('a bad whole number is a ConfigError naming the option, its range and the value', () => {
  const refused = (raw: string | boolean, range: { min?: number; max?: number }, message: RegExp) =>
    assert.throws(
      () => wholeNumberOption(raw, '--n', 1, range),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
    );
  refused('0', {}, /^--n must be a positive whole number, got "0"$/);
  refused('abc', {}, /^--n must be a positive whole number, got "abc"$/);
  refused('1.5', {}, /got "1\.5"/);
  refused('-3', { min: 0 }, /^--n must be a whole number, got "-3"$/);
  refused('1e3', {}, /got "1e3"/);
  refused('', {}, /got ""/);
  refused(true, {}, /got true/);
  refused('1001', { max: 1000 }, /^--n must be a whole number from 1 to 1000, got "1001"$/);
  refused('99999999999999999999', {}, /got "99999999999999999999"/);
});

test('a choice option is one of its values, or a ConfigError listing them', () => {
  const scales = ['small', 'full'] as const;
  assert.equal(choiceOption(undefined, '--scale', scales, 'small'), 'small');
  assert.equal(choiceOption(undefined, '--scale', scales), undefined);
  assert.equal(choiceOption('full', '--scale', scales, 'small'), 'full');
  assert.throws(
    () => choiceOption('huge', '--scale', scales, 'small'),
    (err: unknown) =>
      err instanceof ConfigError && err.message === '--scale must be one of small, full, got "huge"',
  );
  assert.throws(() => choiceOption(true, '--scale', scales), ConfigError);
});

test('a percentage option reads 5%, 5 and 12.5 % as shares; anything outside (0, 100) names the option', () => {
  assert.equal(percentOption(undefined, '--canary'), undefined);
  assert.equal(percentOption('5%', '--canary'), 0.05);
  assert.equal(percentOption('5', '--canary'), 0.05);
  assert.equal(percentOption('12.5 %', '--canary'), 0.125);
  for (const raw of ['0', '0%', '100%', '150', '-5%', 'five', '5%%', true])
    assert.throws(
      () => percentOption(raw, '--canary'),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^--canary must be a percentage above 0 and below 100/.test(err.message),
      String(raw),
    );
});
