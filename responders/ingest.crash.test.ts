/**
 * No acknowledged event is lost, and none is stored twice, across kill -9 of
 * the ingest server mid-load: a `recstream serve` child takes
 * batches from concurrent clients that record every event_id acknowledged
 * with 202; the child is SIGKILLed at a random moment, several times. Then a
 * last server gets every batch that was not acknowledged plus acknowledged
 * ones again, and the log must hold every event exactly once — without any
 * dedup on the reading side.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { seededRandom } from '../bench/interaction-load.js';
import { type Listening, startListening } from '../test/listening.js';
import { loggedEvents } from '../test/platform.js';
import { event } from './responder.fixture.js';

const ENV = { RECSTREAM_HTTP_PORT: '0', RECSTREAM_LOG_FSYNC: 'never', RECSTREAM_PARTITIONS: '4' };
const KILLS = 3;
const CLIENTS = 4;
const BATCH = 100;

function startServer(dataDir: string): Promise<Listening> {
  return startListening(['serve', '--data-dir', dataDir], ENV);
}

type Outcome = 'acked' | 'not acked';

async function post(url: string, batch: readonly Record<string, unknown>[]): Promise<Outcome> {
  try {
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    const body = (await res.json()) as { accepted: number; duplicates: number };
    if (res.status === 202) {
      assert.equal(body.accepted + body.duplicates, batch.length);
      return 'acked';
    }
    assert.ok(res.status === 503 || res.status === 429, `unexpected ${res.status}: ${JSON.stringify(body)}`);
    return 'not acked';
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return 'not acked'; // connection refused or reset by the kill
  }
}

test('kill -9 of the ingest server mid-load loses no acknowledged event and stores none twice', {
  timeout: 120_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-ingest-crash-'));
  const random = seededRandom(11);
  const acked = new Set<string>();
  const ackedBatches: Record<string, unknown>[][] = [];
  const unacked: Record<string, unknown>[][] = [];
  let nextBatch = 0;
  try {
    for (let round = 0; round < KILLS; round++) {
      const server = await startServer(dataDir);
      let running = true;
      const before = acked.size;
      const clients = Array.from({ length: CLIENTS }, async () => {
        while (running) {
          const n = nextBatch++;
          const batch = Array.from({ length: BATCH }, (_, i) => event(n * BATCH + i));
          const outcome = await post(server.url, batch);
          if (outcome === 'acked') {
            for (const e of batch) acked.add(e.event_id as string);
            ackedBatches.push(batch);
          } else {
            unacked.push(batch);
            // Starting up (503) or just killed: do not spin.
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      });
      await new Promise((r) => setTimeout(r, 400 + Math.floor(random() * 800)));
      server.child.kill('SIGKILL');
      const result = await server.exit;
      running = false;
      await Promise.all(clients);
      assert.equal(result.signal, 'SIGKILL', `server ended before the kill: ${result.stderr}`);
      assert.ok(acked.size > before, `round ${round}: the server acknowledged nothing before the kill`);
    }

    const last = await startServer(dataDir);
    const resend = [...unacked, ...ackedBatches.filter((_, i) => i % 5 === 0)];
    for (const batch of resend) {
      let outcome = await post(last.url, batch);
      // The index rebuild answers 503 for a moment after start.
      for (let tries = 0; outcome !== 'acked' && tries < 100; tries++) {
        await new Promise((r) => setTimeout(r, 50));
        outcome = await post(last.url, batch);
      }
      assert.equal(outcome, 'acked');
    }
    last.child.kill('SIGTERM');
    const stopped = await last.exit;
    assert.equal(stopped.code, 0, stopped.stderr);

    const counts = await loggedEvents(dataDir);
    const missing = [...acked].filter((id) => !counts.has(id));
    assert.deepEqual(missing, [], 'acknowledged events missing from rec.interactions');
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'events stored more than once');
    assert.equal(counts.size, nextBatch * BATCH, 'every batch sent is in the log once resent');
    assert.ok(acked.size >= 3 * BATCH, `only ${acked.size} events acknowledged`);
    assert.ok(unacked.length > 0, 'no request was cut off by a kill');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
