/**
 * No raw user id in any log line: a responder over the in-process serving
 * store (the `features` application running beside it) serves
 * recommendations and a user's history, takes good and bad events over
 * HTTP, dead-letters a record whose key is not its user_id, and answers the
 * history after its online store is gone (the route's failure line); then
 * `recstream dlq list` prints the dead letters. Every line the process and
 * the command wrote is scanned for the ids used.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { startResponder } from '../app/responder.js';
import { openServingStore } from '../app/serving-store.js';
import { loadConfig } from '../runtime/config.js';
import type { Interaction } from '../schemas/generated/types.js';
import { openPlatform } from '../schemas/platform.js';
import { DLQ_TOPIC, INTERACTIONS_TOPIC } from '../schemas/topics.js';
import { runCli } from '../test/cli.js';
import { event } from './responder.fixture.js';

/** Served, posted and given a history. */
const SERVED_USER = 'user-7f3a-secret';
/** The key of a record whose user_id is another user's. */
const MISKEYED_KEY = 'user-b41d-private';
/** The user_id inside that record. */
const MISKEYED_USER = 'user-9c2e-hidden';
const RAW_IDS = [SERVED_USER, MISKEYED_KEY, MISKEYED_USER];
const KEY = 'privacy-test-key-0123456789abcdef0123';

const keyed = (id: string) => createHmac('sha256', KEY).update(id).digest('hex').slice(0, 16);

function assertNoRawIds(lines: readonly string[], where: string): void {
  for (const line of lines)
    for (const id of RAW_IDS) assert.ok(!line.includes(id), `${where} names ${id} raw: ${line}`);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('serving, ingest and dead letters log hashed user ids only, keyed by RECSTREAM_LOG_HASH_KEY', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-privacy-'));
  const lines: string[] = [];
  const captured = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const env = {
    RECSTREAM_LOG_FSYNC: 'never',
    RECSTREAM_HTTP_PORT: '0',
    RECSTREAM_PARTITIONS: '2',
    RECSTREAM_LOG_HASH_KEY: KEY,
  };
  try {
    const platform = await openPlatform(loadConfig(env, { dataDir }), {
      logger: pino({ level: 'trace' }, captured),
    });
    try {
      const serving = await openServingStore(platform);
      const responder = await startResponder(platform, {
        online: serving.online,
        service: { pollMs: 10, popularityRefreshMs: 200 },
      });
      try {
        await responder.started;
        const inject = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
          responder.app.inject({
            method,
            url,
            ...(payload === undefined
              ? {}
              : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) }),
          });

        const posted = await inject('POST', '/v1/events', [
          event(1, { user_id: SERVED_USER }),
          event(2, { user_id: SERVED_USER, ts: 1_735_689_600 }),
          event(3, { user_id: SERVED_USER, item_id: '' }),
        ]);
        assert.equal(posted.statusCode, 400, posted.body);
        assert.equal(posted.json().accepted, 1);

        const encoder = await platform.serde.encoder(`${INTERACTIONS_TOPIC}-value`);
        await platform.log.append(INTERACTIONS_TOPIC, [
          {
            key: MISKEYED_KEY,
            value: encoder.encode(event(4, { user_id: MISKEYED_USER }) as unknown as Interaction),
          },
          { key: SERVED_USER, value: Buffer.from('not avro at all') },
        ]);

        await until('the served user in the history', async () => {
          const history = await inject('GET', `/v1/users/${SERVED_USER}/history`);
          return history.statusCode === 200 && history.json().known === true;
        });
        const recommended = await inject('GET', `/v1/recommendations/${SERVED_USER}?k=5`);
        assert.equal(recommended.statusCode, 200, recommended.body);
        await until('both dead letters', async () => {
          const ends = await platform.log.offsets(DLQ_TOPIC).catch(() => []);
          return ends.reduce((sum, p) => sum + p.end - p.start, 0) >= 2;
        });

        await serving.close();
        const unreadable = await inject('GET', `/v1/users/${SERVED_USER}/history`);
        assert.equal(unreadable.statusCode, 503, unreadable.body);
        await inject('GET', `/v1/recommendations/${SERVED_USER}?k=5`);
      } finally {
        await responder.close();
        await serving.close().catch(() => {});
      }
    } finally {
      await platform.close();
    }

    assertNoRawIds(lines, 'the responder log');
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const dead = logged.filter((l) => l.msg === 'record sent to the dead-letter topic');
    assert.equal(dead.length, 2, 'both bad records were logged as dead-lettered');
    const miskeyed = JSON.stringify(dead);
    assert.ok(
      miskeyed.includes(`user#${keyed(MISKEYED_KEY)}`) && miskeyed.includes(`user#${keyed(MISKEYED_USER)}`),
      `the dead-letter line names both users by their keyed hash: ${miskeyed}`,
    );
    const unreadable = logged.find((l) => l.msg === 'user view unreadable for the console');
    assert.equal(
      unreadable?.user,
      keyed(SERVED_USER),
      'the history failure names the user by its keyed hash',
    );

    const listed = await runCli(['dlq', 'list', '--data-dir', dataDir], {
      RECSTREAM_LOG_LEVEL: 'trace',
      RECSTREAM_LOG_HASH_KEY: KEY,
    });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`user#${keyed(MISKEYED_USER)}`));
    assertNoRawIds([...listed.stdout.split('\n'), ...listed.stderr.split('\n')], 'recstream dlq list');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
