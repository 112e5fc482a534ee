import assert from 'node:assert/strict';
import { test } from 'node:test';
import { USER_VIEW_STORE } from '../../features/views/user-view.js';
import { describeUser } from '../../runtime/observability/user-hash.js';
import { event, FeaturesHarness, profile } from '../../test/features.js';
import { currentProfile, isOptedOut, type ProfileHistory, profileAsOf, USERS_STORE } from './profiles.js';

const T0 = 3_600_000_000;

test('the users table keeps profile versions by updated_ts: current profile, profile as of a time, opt-out', async () => {
  const h = await FeaturesHarness.create();
  try {
    const users = h.driver.store<ProfileHistory>(USERS_STORE);
    await h.user(profile('u1', { country: 'PT', updated_ts: 100 }));
    await h.user(profile('u1', { country: 'BR', updated_ts: 300 }));
    await h.user(profile('u1', { country: 'DE', updated_ts: 200 }));
    const history = await users.get('u1');
    assert.equal(currentProfile(history)?.country, 'BR');
    assert.equal(profileAsOf(history, 250)?.country, 'DE');
    assert.equal(profileAsOf(history, 50), undefined);
    assert.equal(isOptedOut(history, 250), false);
    await h.user(profile('u1', { opt_out: true, updated_ts: 400 }));
    const opted = await users.get('u1');
    assert.equal(isOptedOut(opted, 250), true, 'opted out now: no event of theirs is used');
    await h.user(profile('u1', { opt_out: false, updated_ts: 500 }));
    const back = await users.get('u1');
    assert.equal(isOptedOut(back, 450), true, 'opted out at the time of the event');
    assert.equal(isOptedOut(back, 550), false);
  } finally {
    await h.close();
  }
});

test('a tombstone deletes the profile and purges the user view; a key that is not the user_id is dead-lettered', async () => {
  const h = await FeaturesHarness.create({ latenessMs: 1000 });
  try {
    await h.user(profile('u1'));
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    await h.interaction(event('e2', 'u1', 'i1', 'click', T0 + 10_000));
    assert.ok(await h.driver.store(USER_VIEW_STORE).get('u1'));
    await h.deleteUser('u1', T0 + 20_000);
    assert.equal(await h.driver.store(USERS_STORE).get('u1'), undefined);
    assert.equal(await h.driver.store(USER_VIEW_STORE).get('u1'), undefined);
    await h.user(profile('u2'), 'u3');
    await h.driver.pipe('rec.users', null, null, 1);
    assert.deepEqual(
      h.driver.deadLetters.map((d) => d.error_message),
      [
        `rec.users record key ${describeUser('u3')} is not its user_id ${describeUser('u2')}`,
        'rec.users record has no key (the key is the user_id)',
      ],
    );
  } finally {
    await h.close();
  }
});
