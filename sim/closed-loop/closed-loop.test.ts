import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Interaction } from '../../schemas/generated/types.js';
import { World } from '../world.js';
import { runClosedLoop } from './closed-loop.js';
import { readTruthLog } from './truth-log.js';

const world = new World({ seed: 5, users: 300, items: 200, events: 1000, days: 2 });

/**
 * A loopback responder whose lists are a function of the user alone, the
 * same list on every request (as a model over a feature view that does not
 * move), answered after `delayMs`; it keeps when it answered each request
 * and the events posted to it.
 */
async function listServer(delayMs: number) {
  const answered = new Map<string, number>();
  const events: Interaction[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url!, 'http://127.0.0.1');
    if (request.method === 'POST' && url.pathname === '/v1/events') {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        events.push(...(JSON.parse(Buffer.concat(chunks).toString()) as Interaction[]));
        response.writeHead(202).end('{}');
      });
      return;
    }
    const user = Number(/^\/v1\/recommendations\/u(\d+)$/.exec(url.pathname)?.[1]);
    const items = Array.from({ length: 6 }, (_, k) => ({ item_id: `i${(user * 7 + k * 31) % 200}` }));
    setTimeout(() => {
      answered.set(String(request.headers['x-request-id']), Date.now());
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ items, model_version: 'm@1', fallback: null }));
    }, delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, answered, events, server };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstream-closed-loop-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs 80 lists, one visit at a time, against a responder that answers after `delayMs`. */
async function run(delayMs: number) {
  const responder = await listServer(delayMs);
  try {
    const truthPath = join(dir, `truth-${delayMs}.jsonl`);
    await runClosedLoop({
      world,
      responder: responder.url,
      durationMs: 120_000,
      maxRequests: 80,
      rate: 1000,
      visits: 1,
      speed: 20_000,
      truthPath,
      runId: 'same',
    });
    const truth = await readTruthLog(truthPath);
    const byRequest = [...truth.values()].map((line) => ({
      request: line.request_id,
      items: line.items,
      p_click: line.p_click,
    }));
    return { byRequest, answered: responder.answered, events: responder.events };
  } finally {
    responder.server.close();
  }
}

test("the same seed gives the same visits and truth whether the responder answers in 0 or 40 ms (the visit's clock does not count the wait)", async () => {
  const quick = await run(0);
  const slow = await run(40);
  assert.equal(quick.byRequest.length, 80);
  assert.deepEqual(slow.byRequest, quick.byRequest);
  // The wait still delays the visit on the real clock: what a user did with a list comes after it arrived.
  let checked = 0;
  for (const event of slow.events) {
    const answeredAt = slow.answered.get(event.context.request_id ?? '');
    if (answeredAt === undefined) continue;
    assert.ok(
      event.ts >= answeredAt,
      `${event.type} of ${event.context.request_id} at ${event.ts} < ${answeredAt}`,
    );
    checked++;
  }
  assert.ok(checked >= 80 * 6, `${checked} events of served lists checked`);
});
