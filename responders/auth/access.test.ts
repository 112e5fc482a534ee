import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { emptyUserView, type UserView } from '../../features/views/user-view.js';
import { parseApiKeys } from '../../runtime/http-access.js';
import type { Item, User } from '../../schemas/generated/types.js';
import { event, openTestResponder, type TestResponder } from '../responder.fixture.js';
import type { AdminActions } from '../routes/admin.js';
import { AccessPolicy } from './access.js';
import { type AuthConfig, Authenticator } from './authenticator.js';

const SECRET = 'access-test-secret-that-is-at-least-32-bytes';
const PRODUCER_KEY = 'rsk_producer_0f3c9a7e5d1b';
const ANALYST_KEY = 'rsk_analyst_8e2d4f6a0c1b';
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const API_KEYS = parseApiKeys(
  'RECSTREAM_API_KEYS',
  `producer:events:write:${sha256(PRODUCER_KEY)},analyst:users:read:${sha256(ANALYST_KEY)}`,
);

async function jwt(scope: string | undefined, options: { exp?: string | number } = {}): Promise<string> {
  return new SignJWT(scope === undefined ? {} : { scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('svc@example.com')
    .setExpirationTime(options.exp ?? '5m')
    .sign(new TextEncoder().encode(SECRET));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const apiKey = (key: string) => ({ authorization: `ApiKey ${key}` });

const PROFILE: User = {
  user_id: 'u0',
  country: 'PT',
  language: 'pt',
  age_bucket: '25-34',
  signup_ts: 1,
  opt_out: false,
  updated_ts: 1,
};
const ITEM: Item = {
  item_id: 'i2',
  title: 'Second Sight',
  categories: ['sci-fi'],
  tags: [],
  language: 'en',
  duration_s: 600,
  release_ts: null,
  maturity: 'all',
  available: true,
  updated_ts: 1,
};

function u0View(): UserView {
  const view = emptyUserView();
  view.event_count = 1;
  view.ref_ts = 2_000;
  view.recent = [{ item_id: 'i2', type: 'complete', ts: 2_000, watch_fraction: 0.9 }];
  return view;
}

class NoopActions implements AdminActions {
  readonly calls: string[] = [];
  async retrain(): Promise<object> {
    this.calls.push('retrain');
    return { accepted: true };
  }
  async reindex(): Promise<object> {
    this.calls.push('reindex');
    return { kind: 'up-to-date' };
  }
  async rollback(): Promise<object> {
    this.calls.push('rollback');
    return { rolled_back_version: 2 };
  }
  async promote(version: number): Promise<object> {
    this.calls.push(`promote ${version}`);
    return { promoted_version: version };
  }
}

/** A responder over a real platform with ingest, the history route and the admin API. */
async function responderWith(
  config: AuthConfig,
  open: boolean,
  actions: AdminActions = new NoopActions(),
): Promise<TestResponder> {
  const access = new AccessPolicy(await Authenticator.fromConfig(config), open);
  return openTestResponder({
    app: (platform) => ({
      access,
      admin: { actions },
      console: {
        log: platform.log,
        serde: platform.serde,
        modelName: 'recstream',
        indexName: 'items',
        service: () => ({
          bundles: { status: () => ({ model: null, index: null, problem: null }) },
          catalog: { size: 1, get: (id: string) => (id === ITEM.item_id ? ITEM : undefined) },
          profiles: { get: (id: string) => (id === 'u0' ? PROFILE : undefined) },
        }),
        online: {
          get: async <V>(view: string, key: string) =>
            (view === 'user' && key === 'u0' ? u0View() : undefined) as V,
        },
      },
    }),
  });
}

const history = (h: TestResponder, headers: Record<string, string> = {}) =>
  h.app.inject({ method: 'GET', url: '/v1/users/u0/history', headers });
const ingest = (h: TestResponder, n: number, headers: Record<string, string> = {}) =>
  h.post([event(n)], { 'content-type': 'application/json', ...headers });

test('history: 401 without credentials, 403 without users:read, 200 with it (JWT or API key)', async () => {
  const h = await responderWith({ jwtSecret: SECRET, apiKeys: API_KEYS }, false);
  try {
    const anonymous = await history(h);
    assert.equal(anonymous.statusCode, 401, anonymous.body);
    assert.equal(anonymous.json().code, 'UNAUTHENTICATED');
    assert.equal(anonymous.json().reason, 'missing');
    assert.match(anonymous.json().error, /scope users:read.*Bearer <jwt> or ApiKey <key>/);
    assert.match(String(anonymous.headers['www-authenticate']), /^Bearer realm="recstream"/);
    assert.equal(anonymous.json().items, undefined, 'no user data in the refusal');

    for (const headers of [bearer(await jwt('events:write')), apiKey(PRODUCER_KEY)]) {
      const forbidden = await history(h, headers);
      assert.equal(forbidden.statusCode, 403, forbidden.body);
      assert.equal(forbidden.json().code, 'FORBIDDEN');
      assert.equal(forbidden.json().scope, 'users:read');
      assert.match(forbidden.json().error, /lacks the scope users:read \(it carries events:write\)/);
      assert.match(String(forbidden.headers['www-authenticate']), /insufficient_scope/);
    }

    for (const headers of [bearer(await jwt('openid users:read')), apiKey(ANALYST_KEY)]) {
      const ok = await history(h, headers);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().user_id, 'u0');
      assert.equal(ok.json().items[0].item_id, 'i2');
      assert.equal(ok.json().profile.country, 'PT');
    }
    // The other console routes hold no user data and stay open.
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/items?ids=i2' })).statusCode, 200);
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/status' })).statusCode, 200);
  } finally {
    await h.close(true);
  }
});

test('ingest: 401 without credentials, 403 without events:write, 202 with it; nothing refused is written', async () => {
  const h = await responderWith({ jwtSecret: SECRET, apiKeys: API_KEYS }, false);
  try {
    const anonymous = await ingest(h, 1);
    assert.equal(anonymous.statusCode, 401, anonymous.body);
    assert.equal(anonymous.json().reason, 'missing');
    const readOnly = await ingest(h, 2, bearer(await jwt('users:read')));
    assert.equal(readOnly.statusCode, 403, readOnly.body);
    assert.equal(readOnly.json().scope, 'events:write');
    const analyst = await ingest(h, 3, apiKey(ANALYST_KEY));
    assert.equal(analyst.statusCode, 403, analyst.body);
    assert.match(analyst.json().error, /API key analyst lacks the scope events:write/);
    assert.deepEqual(await h.logged(), []);

    const byToken = await ingest(h, 4, bearer(await jwt('events:write')));
    assert.equal(byToken.statusCode, 202, byToken.body);
    const byKey = await ingest(h, 5, apiKey(PRODUCER_KEY));
    assert.equal(byKey.statusCode, 202, byKey.body);
    assert.deepEqual(
      (await h.logged()).map((l) => l.event.event_id).sort(),
      ['ev-4', 'ev-5'],
      'only the authorised batches reached the log',
    );
  } finally {
    await h.close(true);
  }
});

test('API keys: an unknown key, a key in the wrong scheme and a Bearer token with only API keys configured are 401', async () => {
  const h = await responderWith({ apiKeys: API_KEYS }, false);
  try {
    const unknown = await ingest(h, 1, apiKey('rsk_guessed_key'));
    assert.equal(unknown.statusCode, 401);
    assert.equal(unknown.json().reason, 'unknown_api_key');
    assert.match(unknown.json().error, /not one of RECSTREAM_API_KEYS/);
    assert.equal(unknown.headers['www-authenticate'], 'ApiKey realm="recstream"');
    // The configured value is the key's hash, not a key: sending the hash itself is refused.
    const hashAsKey = await ingest(h, 2, apiKey(sha256(PRODUCER_KEY)));
    assert.equal(hashAsKey.json().reason, 'unknown_api_key');
    const asBearer = await ingest(h, 3, bearer(PRODUCER_KEY));
    assert.equal(asBearer.statusCode, 401);
    assert.equal(asBearer.json().reason, 'unsupported_scheme');
    assert.match(asBearer.json().error, /must be ApiKey <key>/);
    const jwtWithoutSecret = await ingest(h, 4, bearer(await jwt('events:write')));
    assert.equal(jwtWithoutSecret.statusCode, 401);
    assert.equal((await ingest(h, 5, apiKey(PRODUCER_KEY))).statusCode, 202);
    assert.equal(
      (await ingest(h, 6, { authorization: `apikey ${PRODUCER_KEY}` })).statusCode,
      202,
      'scheme is case-blind',
    );
  } finally {
    await h.close(true);
  }
});

test('JWTs: expired, unsigned (alg none), wrong algorithm and wrong secret are 401 naming the check', async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const h = await responderWith({ jwtSecret: SECRET, jwtPublicKey: await exportSPKI(publicKey) }, false);
  try {
    const expired = await history(
      h,
      bearer(await jwt('users:read', { exp: Math.floor(Date.now() / 1000) - 60 })),
    );
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().reason, 'expired');
    const unsignedHeader = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const unsignedBody = Buffer.from(
      JSON.stringify({ scope: 'users:read', exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url');
    const none = await history(h, bearer(`${unsignedHeader}.${unsignedBody}.`));
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().reason, 'algorithm_not_allowed');
    // RS512 is not among the pinned algorithms (HS256, ES256) whatever key signs it.
    const { privateKey: rsKey } = await generateKeyPair('RS512');
    const wrongAlg = await new SignJWT({ scope: 'users:read' })
      .setProtectedHeader({ alg: 'RS512' })
      .setExpirationTime('5m')
      .sign(rsKey);
    const refused = await history(h, bearer(wrongAlg));
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().reason, 'algorithm_not_allowed');
    const otherSecret = await new SignJWT({ scope: 'users:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes-long'));
    assert.equal((await history(h, bearer(otherSecret))).json().reason, 'bad_signature');
    const es = await new SignJWT({ scope: 'users:read' })
      .setProtectedHeader({ alg: 'ES256' })
      .setExpirationTime('5m')
      .sign(privateKey);
    assert.equal((await history(h, bearer(es))).statusCode, 200, 'ES256 with the configured public key');
  } finally {
    await h.close(true);
  }
});

test('admin needs the admin scope: users:read and events:write do not grant it; an API key with admin does', async () => {
  const ADMIN_KEY = 'rsk_ops_5a6b7c8d9e0f';
  const actions = new NoopActions();
  const keys = parseApiKeys(
    'RECSTREAM_API_KEYS',
    `ops:admin+users:read:${sha256(ADMIN_KEY)},producer:events:write:${sha256(PRODUCER_KEY)}`,
  );
  const h = await responderWith({ jwtSecret: SECRET, apiKeys: keys }, false, actions);
  try {
    const reindex = (headers: Record<string, string>) =>
      h.app.inject({ method: 'POST', url: '/admin/reindex', headers });
    assert.equal((await reindex({})).statusCode, 401);
    assert.equal((await reindex(bearer(await jwt('users:read events:write')))).statusCode, 403);
    assert.equal((await reindex(apiKey(PRODUCER_KEY))).statusCode, 403);
    assert.equal((await reindex(bearer(await jwt('admin')))).statusCode, 200);
    assert.equal((await reindex(apiKey(ADMIN_KEY))).statusCode, 200);
    // admin is not a superset: the admin token cannot read histories.
    assert.equal((await history(h, bearer(await jwt('admin')))).statusCode, 403);
    assert.deepEqual(actions.calls, ['reindex', 'reindex']);
  } finally {
    await h.close(true);
  }
});

test('open mode (no credentials configured, loopback): data routes answer anyone, the admin API stays off', async () => {
  const actions = new NoopActions();
  const h = await responderWith({}, true, actions);
  try {
    assert.equal((await history(h)).statusCode, 200);
    assert.equal((await ingest(h, 1)).statusCode, 202);
    // A token means nothing here: no key to check it with, and the route needs none.
    assert.equal((await ingest(h, 2, bearer('whatever'))).statusCode, 202);
    const admin = await h.app.inject({
      method: 'POST',
      url: '/admin/reindex',
      headers: bearer(await jwt('admin')),
    });
    assert.equal(admin.statusCode, 404);
    assert.equal(admin.json().code, 'ADMIN_DISABLED');
    assert.deepEqual(actions.calls, []);
  } finally {
    await h.close(true);
  }
});

test('credentials are read but not required on routes without a scope: a bad token does not break a route that needs no scope', async () => {
  const h = await responderWith({ jwtSecret: SECRET }, false);
  try {
    const health = await h.app.inject({ method: 'GET', url: '/healthz', headers: bearer('not-a-jwt') });
    assert.equal(health.statusCode, 200);
  } finally {
    await h.close(true);
  }
});
