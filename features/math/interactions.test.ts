import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INTERACTION_TYPE_SYMBOLS, type Interaction } from '../../schemas/generated/types.js';
import { eventLabels, recentItemConsumed } from './interactions.js';

function event(type: Interaction['type'], value: number | null): Interaction {
  return {
    event_id: 'e1',
    user_id: 'u1',
    item_id: 'i1',
    type,
    value,
    watch_ms: null,
    ts: 0,
    context: { device: null, country: null, session_id: null, surface: null, request_id: null },
  };
}

test('a recent item is consumed exactly when its interaction is a positive; a rated one whatever its rating', () => {
  for (const type of INTERACTION_TYPE_SYMBOLS)
    for (const wf of [null, 0, 0.3, 0.5, 1]) {
      const recent = { item_id: 'i1', type, ts: 0, watch_fraction: wf };
      const expected = type === 'rate' || eventLabels(event(type, null), wf).positive;
      assert.equal(recentItemConsumed(recent), expected, `${type} at watch fraction ${wf}`);
    }
  assert.equal(
    eventLabels(event('rate', 1), null).positive,
    false,
    'a low rating is no positive in training',
  );
  assert.equal(recentItemConsumed({ item_id: 'i1', type: 'complete', ts: 0, watch_fraction: 0.2 }), true);
  assert.equal(recentItemConsumed({ item_id: 'i1', type: 'view', ts: 0, watch_fraction: 0.2 }), false);
});
