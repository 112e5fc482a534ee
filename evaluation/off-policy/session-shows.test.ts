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
