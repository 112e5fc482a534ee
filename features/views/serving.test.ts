import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catalogItem, event, FeaturesHarness } from '../../test/features.js';
import { HOUR_MS } from '../math/decay.js';
import { servingFeatures } from './serving.js';
import { USER_VIEW_STORE, type UserView } from './user-view.js';

const T0 = 1_000 * HOUR_MS;

test('serving features include interactions still waiting for the watermark; the stored view is left as it is', async () => {
  const h = await FeaturesHarness.create({ latenessMs: HOUR_MS });
  try {
    await h.item(catalogItem('i1', { categories: ['drama'] }));
    await h.interaction(event('e1', 'u1', 'i1', 'like', T0));
    await h.interaction(event('e2', 'u1', 'i2', 'click', T0 + 60_000));
    const view = (await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'))!;
    assert.equal(view.event_count, 0, 'nothing released yet');
    const catalog = (itemId: string) =>
      itemId === 'i1' ? catalogItem('i1', { categories: ['drama'] }) : undefined;
    const now = T0 + 120_000;
    const features = servingFeatures(view, now, undefined, catalog);
    assert.equal(features.event_count, 2);
    assert.deepEqual(
      features.recent_items.map((r) => r.item_id),
      ['i2', 'i1'],
    );
    assert.deepEqual(features.category_affinity, { drama: 1 });
    assert.equal(features.last_active_ts, T0 + 60_000);
    assert.equal(view.event_count, 0);
    assert.equal(view.pending.length, 2);
  } finally {
    await h.close();
  }
});
