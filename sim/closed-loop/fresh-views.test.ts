import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { describeStaleUsers, FreshViews } from './fresh-views.js';

/** A loopback responder whose history route counts what `held` says for each user. */
async function historyServer(held: Map<string, number>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const user = decodeURIComponent(/\/v1\/users\/([^/]+)\/history/.exec(request.url ?? '')?.[1] ?? '');
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ event_count: held.get(user) ?? 0, profile: { opt_out: false } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('a wait that runs out names the user, what the run made them do and what their view held', async () => {
  const held = new Map([
    ['u1', 4],
    ['u2', 10],
  ]);
  const server = await historyServer(held);
  try {
    const views = new FreshViews(server.url, 50);
    await views.visiting('u1');
    await views.visiting('u2');
    views.added('u1', 3);
    views.added('u2', 2);
    held.set('u2', 12);
    assert.equal(await views.fresh('u2'), true);
    assert.equal(await views.fresh('u1'), false);
    assert.deepEqual(views.staleUsers(), [{ user_id: 'u1', owed: 7, held: 4 }]);
    assert.equal(describeStaleUsers(views.staleUsers()), '1 user: u1 did 7, their view held 4');
  } finally {
    await server.close();
  }
});
