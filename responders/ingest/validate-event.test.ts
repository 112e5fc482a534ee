/**
 * Malformed events as a new user would send them: every one is refused with
 * the field it is wrong about and a reason that says what to send instead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { event } from '../responder.fixture.js';
import { validateEvent } from './validate-event.js';

const NOW = 1_750_000_000_000;

function without(field: string): Record<string, unknown> {
  const e = event(1);
  delete e[field];
  return e;
}

const CASES: [string, unknown, [string, RegExp][]][] = [
  ['ts as a date string', event(1, { ts: '2025-01-01T00:00:00Z' }), [['ts', /expected long, got string/]]],
  ['value as a string', event(1, { value: '0.5' }), [['value', /expected null or double, got string "0.5"/]]],
  ['fractional watch_ms', event(1, { watch_ms: 1.5 }), [['watch_ms', /expected/]]],
  ['numeric user_id', event(1, { user_id: 42 }), [['user_id', /expected string, got number 42/]]],
  ['context as a string', event(1, { context: 'web' }), [['context', /expected record .*got string/]]],
  ['numeric context.device', event(1, { context: { device: 5 } }), [['context.device', /got number 5/]]],
  ['missing event_id', without('event_id'), [['event_id', /missing \(expected string\)/]]],
  ['missing user_id', without('user_id'), [['user_id', /missing/]]],
  ['missing item_id', without('item_id'), [['item_id', /missing/]]],
  ['missing type', without('type'), [['type', /missing \(expected enum/]]],
  ['missing ts', without('ts'), [['ts', /missing \(expected long\)/]]],
  [
    'unknown event type',
    event(1, { type: 'purchase' }),
    [['type', /"purchase" is not a symbol .*expected one of impression, view/]],
  ],
  ['misspelt field', event(1, { watchMs: 10 }), [['watchMs', /is not a field of rec.Interaction/]]],
  ['negative ts', event(1, { ts: -1000 }), [['ts', /is negative \(-1000\)/]]],
  ['ts in seconds', event(1, { ts: 1_735_689_600 }), [['ts', /was it sent in seconds\?/]]],
  ['ts two days ahead', event(1, { ts: NOW + 2 * 86_400_000 }), [['ts', /more than 24 h ahead/]]],
  ['ts beyond a safe integer', event(1, { ts: 2 ** 60 }), [['ts', /expected long \(a safe integer\)/]]],
  ['empty event_id', event(1, { event_id: '  ' }), [['event_id', /must not be empty/]]],
  [
    'huge user_id',
    event(1, { user_id: 'u'.repeat(300_000) }),
    [['user_id', /is 300000 characters long; at most 256/]],
  ],
  ['lone surrogate', event(1, { item_id: 'i\ud800x' }), [['item_id', /unpaired UTF-16 surrogate/]]],
  ['rating without a value', event(1, { type: 'rate', value: null }), [['value', /required for type rate/]]],
  [
    'watch fraction above 1',
    event(1, { type: 'complete', value: 1.5 }),
    [['value', /must be in \[0, 1\], got 1.5/]],
  ],
  ['negative watch_ms', event(1, { watch_ms: -5 }), [['watch_ms', /must not be negative/]]],
  ['null', null, [['(event)', /expected an object .*got null/]]],
  ['an array', [event(1)], [['(event)', /got an array/]]],
  [
    'several problems at once',
    event(1, { type: 'clik', ts: -1, user_id: '' }),
    [
      ['type', /"clik"/],
      ['user_id', /must not be empty/],
      ['ts', /is negative/],
    ],
  ],
];

for (const [name, input, expected] of CASES) {
  test(`refused: ${name}`, () => {
    const checked = validateEvent(input, NOW);
    assert.equal(checked.ok, false, name);
    if (checked.ok) return;
    assert.deepEqual(checked.errors.map((e) => e.field).sort(), expected.map(([field]) => field).sort());
    for (const [field, reason] of expected) {
      assert.match(checked.errors.find((e) => e.field === field)!.reason, reason);
    }
  });
}

test('accepted: a full event, one with only the required fields, a rating, paired surrogates', () => {
  const minimal = { event_id: 'e', user_id: 'u', item_id: 'i', type: 'like', ts: NOW };
  for (const input of [
    event(1),
    minimal,
    event(2, { type: 'rate', value: 4.5 }),
    event(3, { item_id: 'film 🎬 ñ', context: { device: 'tv' } }),
  ]) {
    const checked = validateEvent(input, NOW);
    assert.equal(checked.ok, true, JSON.stringify(checked));
  }
});
