import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SESSION_GAP_MS } from '../../features/views/user-view.js';
import { servedList } from '../../test/features.js';
import type { LoggedList } from '../online/served-lists.js';
import { sessionShows } from './session-shows.js';

const logged = (requestId: string, userId: string, items: string[], ts: number): LoggedList => ({
  served: servedList(requestId, userId, items, ts),
  clicked: new Set(),
  context: null,
});

const lists = [
  logged('r3', 'u1', ['a', 'c'], 2_000),
  logged('r1', 'u1', ['a', 'b'], 0),
  logged('r2', 'u1', ['b', 'a'], 1_000),
  logged('r4', 'u2', ['a'], 1_500),
  logged('r5', 'u1', ['a', 'b'], 2_000 + SESSION_GAP_MS + 1),
];

test("each position counts the user's earlier lists of the session that held its item", () => {
  const shows = sessionShows(lists);
  assert.deepEqual(shows.get('r1'), [0, 0]);
  assert.deepEqual(shows.get('r2'), [1, 1]);
  assert.deepEqual(shows.get('r3'), [2, 0]);
  assert.deepEqual(shows.get('r4'), [0], 'another user');
  assert.deepEqual(shows.get('r5'), [0, 0], 'a new session after the gap');
});

test("the session the client reported in the list's events decides, whatever the gap", () => {
  const visit = (requestId: string, items: string[], ts: number, session: string): LoggedList => ({
    ...logged(requestId, 'u1', items, ts),
    context: { device: 'web', country: 'DE', session_id: session, surface: 'home', request_id: requestId },
  });
  const shows = sessionShows([
    visit('v1', ['a', 'b'], 0, 's1'),
    visit('v2', ['a', 'b'], 1_000, 's2'),
    visit('v3', ['a'], 2_000, 's1'),
    visit('v4', ['a'], 3_000 + SESSION_GAP_MS, 's1'),
    logged('v5', 'u1', ['a'], 4_000),
  ]);
  assert.deepEqual(shows.get('v2'), [0, 0], 'a second visit less than 30 minutes after the first');
  assert.deepEqual(shows.get('v3'), [1], 'its own visit, the other one in between');
  assert.deepEqual(shows.get('v4'), [2], 'still the visit the client reported');
  assert.deepEqual(shows.get('v5'), [0], 'a list without a reported session is not counted with them');
});

test("a version's counts come from its own pages where it has one, the logged items elsewhere", () => {
  const pages = new Map([
    ['r1', ['x', 'y']],
    ['r3', ['x', 'a']],
  ]);
  const shows = sessionShows(lists, (list) => pages.get(list.served.request_id));
  assert.deepEqual(shows.get('r1'), [0, 0]);
  assert.deepEqual(shows.get('r2'), [0, 0], 'its logged items, which its page at r1 did not hold');
  assert.deepEqual(shows.get('r3'), [1, 1]);
});
