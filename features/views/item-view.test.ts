import assert from 'node:assert/strict';
import { test } from 'node:test';
import { event } from '../../test/features.js';
import { HOUR_MS } from '../math/decay.js';
import { emptyItemView, foldItemInteraction, itemFeaturesAt } from './item-view.js';

const T0 = 1_000 * HOUR_MS;
const at = (country: string) => ({
  device: 'tv',
  country,
  session_id: null,
  surface: 'home',
  request_id: null,
});

test('itemFeaturesAt for one country gives every other feature as for all, and that country’s popularity alone', () => {
  const view = emptyItemView();
  const scratch = new Float64Array(3);
  foldItemInteraction(view, event('e1', 'u1', 'i1', 'click', T0, { context: at('PT') }), scratch);
  foldItemInteraction(view, event('e2', 'u2', 'i1', 'view', T0 + HOUR_MS, { context: at('DE') }), scratch);
  foldItemInteraction(
    view,
    event('e3', 'u3', 'i1', 'view', T0 + 2 * HOUR_MS, { context: at('DE') }),
    scratch,
  );
  const t = T0 + 5 * HOUR_MS;
  const all = itemFeaturesAt(view, t, undefined);
  assert.deepEqual(Object.keys(all.popularity_by_country).sort(), ['DE', 'PT']);
  for (const [country, expected] of [
    ['DE', { DE: all.popularity_by_country.DE }],
    ['PT', { PT: all.popularity_by_country.PT }],
    ['FR', {}],
    [null, {}],
  ] as const) {
    const one = itemFeaturesAt(view, t, undefined, scratch, country);
    assert.deepEqual(one, { ...all, popularity_by_country: expected }, `country ${country}`);
  }
});
