/**
 * Who may ask for recommendations, and what the served list says of them:
 * with credentials configured GET /v1/recommendations/:userId needs the
 * `recommendations:read` scope (401 without credentials, 403 without the
 * scope), and the answer and the list logged to rec.recommendations name
 * the caller (../auth/caller.ts); in open loopback mode anyone may ask,
 * and both say the caller was anonymous (null).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { type RunningResponder, startResponder } from '../../app/responder.js';
import { openServingStore } from '../../app/serving-store.js';
import { readTopic } from '../../registry/topic-reader.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import type { ServedRecommendations } from '../../schemas/generated/types.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { RECOMMENDATIONS_TOPIC } from '../../schemas/topics.js';

const SECRET = 'recommendations-access-secret-of-32-bytes-or-more';
const READER_KEY = 'rsk_reader_5a1c7e9b3d2f';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function token(scope: string): Promise<string> {
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('storefront@example.com')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));
}

/** A responder over an empty world (cold-start lists) with `env`, on loopback; `check` runs against it. */
async function withResponder(
  env: Record<string, string>,
  check: (responder: RunningResponder, platform: Platform) => Promise<void>,
): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-rec-access-'));
  const config = { RECSTREAM_LOG_FSYNC: 'never', RECSTREAM_HTTP_HOST: '127.0.0.1', RECSTREAM_HTTP_PORT: '0' };
  const platform = await openPlatform(loadConfig({ ...config, ...env }, { dataDir }), {
    logger: silentLogger(),
  });
  const serving = await openServingStore(platform);
  const responder = await startResponder(platform, { online: serving.online, service: { pollMs: 10 } });
  try {
    await responder.started;
    await check(responder, platform);
  } finally {
    await responder.close();
    await serving.close();
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The caller of every list logged, by request id. */
async function loggedCallers(responder: RunningResponder, platform: Platform): Promise<Map<string, unknown>> {
  await responder.recommendations()!.served.flush();
  const decoder = await platform.serde.decoder('rec.recommendations-value');
  const out = new Map<string, unknown>();
  for await (const record of readTopic(platform.log, RECOMMENDATIONS_TOPIC)) {
    const list: ServedRecommendations = await decoder.decode(record.value!);
    out.set(list.request_id, list.caller);
  }
  return out;
}

test('with RECSTREAM_JWT_SECRET set: 401 without credentials, 403 without recommendations:read, 200 with it; the list names its caller', async () => {
  const env = {
    RECSTREAM_JWT_SECRET: SECRET,
    RECSTREAM_API_KEYS: `reader:recommendations:read:${sha256(READER_KEY)}`,
  };
  await withResponder(env, async (responder, platform) => {
    const get = (requestId: string, headers: Record<string, string> = {}) =>
      responder.app.inject({
        method: 'GET',
        url: '/v1/recommendations/u1',
        headers: { 'x-request-id': requestId, ...headers },
      });
    const anonymous = await get('anonymous');
    assert.equal(anonymous.statusCode, 401, anonymous.body);
    assert.equal(anonymous.json().code, 'UNAUTHENTICATED');
    assert.match(anonymous.json().error, /scope recommendations:read/);
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="recstream"');

    const forged = await get('forged', {
      authorization: `Bearer ${(await token('recommendations:read')).slice(0, -4)}AAAA`,
    });
    assert.equal(forged.statusCode, 401, forged.body);

    const writer = await get('writer', { authorization: `Bearer ${await token('events:write users:read')}` });
    assert.equal(writer.statusCode, 403, writer.body);
    assert.equal(writer.json().scope, 'recommendations:read');

    const reader = await get('reader', { authorization: `Bearer ${await token('recommendations:read')}` });
    assert.equal(reader.statusCode, 200, reader.body);
    const subject = `jwt:${sha256('storefront@example.com').slice(0, 16)}`;
    assert.equal(reader.json().caller, subject);
    assert.equal(reader.json().user_id, 'u1');

    const keyed = await get('keyed', { authorization: `ApiKey ${READER_KEY}` });
    assert.equal(keyed.statusCode, 200, keyed.body);
    assert.equal(keyed.json().caller, 'key:reader');

    assert.deepEqual(
      await loggedCallers(responder, platform),
      new Map([
        ['reader', subject],
        ['keyed', 'key:reader'],
      ]),
      'refused requests log no list; served ones name their caller, never the raw subject',
    );
  });
});

test('in open loopback mode anyone may ask, and the answer and the logged list say the caller was anonymous', async () => {
  await withResponder({}, async (responder, platform) => {
    const res = await responder.app.inject({
      method: 'GET',
      url: '/v1/recommendations/u1',
      headers: { 'x-request-id': 'open' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().caller, null);
    assert.deepEqual(await loggedCallers(responder, platform), new Map([['open', null]]));
  });
});
