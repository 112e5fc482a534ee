import assert from 'node:assert/strict';
import { test } from 'node:test';
import fastify, { type FastifyInstance } from 'fastify';
import { exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { ArtifactIntegrityError, ModelRegistryError } from '../../registry/errors.js';
import { ConfigError, StorageError } from '../../runtime/errors.js';
import { AccessPolicy } from '../auth/access.js';
import { type AuthConfig, Authenticator } from '../auth/authenticator.js';
import { RetrainRunningError, UnavailableError } from '../errors.js';
import { type AdminActions, adminRoutes } from './admin.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const ADMIN_SCOPE = 'admin';
const secretKey = (secret: string) => new TextEncoder().encode(secret);

/** Records every call; `failWith` makes each action throw that error instead. */
class RecordingActions implements AdminActions {
  readonly calls: { action: string; reason?: string | undefined; version?: number }[] = [];
  failWith: Error | undefined;

  async retrain(): Promise<object> {
    return this.run('retrain', { accepted: true, model: 'recstream', started_ts: 1 });
  }

  async reindex(): Promise<object> {
    return this.run('reindex', { kind: 'up-to-date', detail: 'nothing new' });
  }

  async rollback(reason?: string): Promise<object> {
    this.calls.push({ action: 'rollback', reason });
    if (this.failWith) throw this.failWith;
    return { model: 'recstream', rolled_back_version: 3, promoted_version: 2 };
  }

  async promote(version: number, reason?: string): Promise<object> {
    this.calls.push({ action: 'promote', version, reason });
    if (this.failWith) throw this.failWith;
    return { model: 'recstream', promoted_version: version, previous_version: 2, already_promoted: false };
  }

  private run(action: string, result: object): object {
    this.calls.push({ action });
    if (this.failWith) throw this.failWith;
    return result;
  }
}

async function appWith(
  config: AuthConfig,
  actions: AdminActions = new RecordingActions(),
  metrics?: Registry,
): Promise<FastifyInstance> {
  const app = fastify();
  const access = new AccessPolicy(await Authenticator.fromConfig(config), false);
  await app.register(access.plugin);
  await app.register(adminRoutes, {
    access,
    actions,
    ...(metrics === undefined ? {} : { metrics }),
  });
  return app;
}

interface TokenOptions {
  readonly claims?: JWTPayload;
  readonly exp?: number | string | null;
  readonly nbf?: number;
}

async function hsToken(options: TokenOptions = {}, secret = SECRET): Promise<string> {
  return sign(new SignJWT(options.claims ?? { scope: ADMIN_SCOPE }), options).sign(secretKey(secret));
}

function sign(jwt: SignJWT, options: TokenOptions): SignJWT {
  jwt.setProtectedHeader({ alg: 'HS256' }).setSubject('ops@example.com').setIssuedAt();
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? '5m');
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const nowS = () => Math.floor(Date.now() / 1000);

test('no Authorization header: 401 UNAUTHENTICATED with a Bearer challenge, the action not called', async () => {
  const actions = new RecordingActions();
  const app = await appWith({ jwtSecret: SECRET }, actions);
  const res = await app.inject({ method: 'POST', url: '/admin/retrain' });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().code, 'UNAUTHENTICATED');
  assert.equal(res.json().reason, 'missing');
  assert.match(String(res.headers['www-authenticate']), /^Bearer\b/);
  const basic = await app.inject({
    method: 'POST',
    url: '/admin/retrain',
    headers: { authorization: 'Basic YTpi' },
  });
  assert.equal(basic.statusCode, 401);
  assert.equal(basic.json().reason, 'unsupported_scheme');
  assert.deepEqual(actions.calls, []);
  await app.close();
});

test('bad tokens get 401 naming the check that failed: malformed, wrong secret, expired, not yet valid, no exp', async () => {
  const actions = new RecordingActions();
  const app = await appWith({ jwtSecret: SECRET }, actions);
  const cases: [string, string][] = [
    ['not-a-jwt', 'malformed'],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzY29wZSI6InJlY3N0cmVhbTphZG1pbiJ9.garbage', 'bad_signature'],
    [await hsToken({}, 'another-secret-that-is-also-32-bytes-long!'), 'bad_signature'],
    [await hsToken({ exp: nowS() - 60 }), 'expired'],
    [await hsToken({ nbf: nowS() + 600 }), 'not_yet_valid'],
    [await hsToken({ exp: null }), 'invalid_claims'],
  ];
  for (const [token, reason] of cases) {
    const res = await app.inject({ method: 'POST', url: '/admin/reindex', headers: bearer(token) });
    assert.equal(res.statusCode, 401, `${reason}: ${res.body}`);
    assert.equal(res.json().code, 'UNAUTHENTICATED');
    assert.equal(res.json().reason, reason, res.body);
    assert.match(String(res.headers['www-authenticate']), /^Bearer .*error="invalid_token"/);
  }
  assert.deepEqual(actions.calls, []);
  await app.close();
});

test('a valid token without the admin scope gets 403 FORBIDDEN naming the scope', async () => {
  const actions = new RecordingActions();
  const app = await appWith({ jwtSecret: SECRET }, actions);
  for (const claims of [
    {},
    { scope: 'recstream:read' },
    { role: 'admin' },
    { scope: 'recstream:admins' },
    { scope: 'users:read events:write' },
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/rollback',
      headers: bearer(await hsToken({ claims })),
    });
    assert.equal(res.statusCode, 403, JSON.stringify(claims));
    assert.equal(res.json().code, 'FORBIDDEN');
    assert.equal(res.json().scope, 'admin');
    assert.match(res.json().error, /lacks the scope admin/);
    assert.match(String(res.headers['www-authenticate']), /insufficient_scope/);
  }
  assert.deepEqual(actions.calls, []);
  await app.close();
});

test('a valid HS256 admin token runs each action: retrain 202, reindex and rollback 200 with their results', async () => {
  const actions = new RecordingActions();
  const metrics = new Registry();
  const app = await appWith({ jwtSecret: SECRET }, actions, metrics);
  const headers = bearer(await hsToken({ claims: { scope: `openid ${ADMIN_SCOPE}` } }));
  const retrain = await app.inject({ method: 'POST', url: '/admin/retrain', headers });
  assert.equal(retrain.statusCode, 202);
  assert.equal(retrain.json().accepted, true);
  const reindex = await app.inject({ method: 'POST', url: '/admin/reindex', headers });
  assert.equal(reindex.statusCode, 200);
  assert.deepEqual(reindex.json(), { kind: 'up-to-date', detail: 'nothing new' });
  const bare = await app.inject({ method: 'POST', url: '/admin/rollback', headers });
  assert.equal(bare.statusCode, 200, bare.body);
  assert.deepEqual(bare.json(), { model: 'recstream', rolled_back_version: 3, promoted_version: 2 });
  const withReason = await app.inject({
    method: 'POST',
    url: '/admin/rollback',
    headers: { ...headers, 'content-type': 'application/json' },
    payload: { reason: 'CTR dropped' },
  });
  assert.equal(withReason.statusCode, 200, withReason.body);
  assert.deepEqual(actions.calls, [
    { action: 'retrain' },
    { action: 'reindex' },
    { action: 'rollback', reason: undefined },
    { action: 'rollback', reason: 'CTR dropped' },
  ]);
  // An array-valued scope claim counts too.
  const arrayScope = await app.inject({
    method: 'POST',
    url: '/admin/reindex',
    headers: bearer(await hsToken({ claims: { scope: ['openid', ADMIN_SCOPE] } })),
  });
  assert.equal(arrayScope.statusCode, 200);
  // recstream:admin, the scope's earlier name, still counts.
  const legacy = await app.inject({
    method: 'POST',
    url: '/admin/reindex',
    headers: bearer(await hsToken({ claims: { scope: 'recstream:admin' } })),
  });
  assert.equal(legacy.statusCode, 200, legacy.body);
  const text = await metrics.metrics();
  assert.match(text, /recstream_admin_requests_total\{action="rollback",status="200"\} 2/);
  assert.match(text, /recstream_admin_requests_total\{action="retrain",status="202"\} 1/);
  await app.close();
});

test('a rollback body that fails its schema is 400 INVALID_BODY and the action is not called', async () => {
  const actions = new RecordingActions();
  const app = await appWith({ jwtSecret: SECRET }, actions);
  const headers = { ...bearer(await hsToken()), 'content-type': 'application/json' };
  for (const payload of [{ reason: 5 }, { reason: 'x', force: true }, { reason: '' }, '[1]']) {
    const res = await app.inject({ method: 'POST', url: '/admin/rollback', headers, payload });
    assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
    assert.equal(res.json().code, 'INVALID_BODY');
  }
  const badJson = await app.inject({
    method: 'POST',
    url: '/admin/rollback',
    headers,
    payload: '{"reason":',
  });
  assert.equal(badJson.statusCode, 400);
  assert.equal(badJson.json().code, 'INVALID_BODY');
  assert.deepEqual(actions.calls, []);
  await app.close();
});

test('promote takes {version, reason?} strictly: 200 with the result, 400 INVALID_BODY otherwise', async () => {
  const actions = new RecordingActions();
  const metrics = new Registry();
  const app = await appWith({ jwtSecret: SECRET }, actions, metrics);
  const headers = { ...bearer(await hsToken()), 'content-type': 'application/json' };
  const res = await app.inject({ method: 'POST', url: '/admin/promote', headers, payload: { version: 3 } });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), {
    model: 'recstream',
    promoted_version: 3,
    previous_version: 2,
    already_promoted: false,
  });
  const withReason = await app.inject({
    method: 'POST',
    url: '/admin/promote',
    headers,
    payload: { version: 1, reason: 'v3 regressed' },
  });
  assert.equal(withReason.statusCode, 200, withReason.body);
  for (const payload of [
    {},
    { version: '3' },
    { version: 0 },
    { version: 1.5 },
    { version: 2, force: true },
  ]) {
    const bad = await app.inject({ method: 'POST', url: '/admin/promote', headers, payload });
    assert.equal(bad.statusCode, 400, `${JSON.stringify(payload)}: ${bad.body}`);
    assert.equal(bad.json().code, 'INVALID_BODY');
  }
  const noBody = await app.inject({
    method: 'POST',
    url: '/admin/promote',
    headers: bearer(await hsToken()),
  });
  assert.equal(noBody.statusCode, 400, noBody.body);
  const anonymous = await app.inject({ method: 'POST', url: '/admin/promote', payload: { version: 3 } });
  assert.equal(anonymous.statusCode, 401);
  assert.deepEqual(actions.calls, [
    { action: 'promote', version: 3, reason: undefined },
    { action: 'promote', version: 1, reason: 'v3 regressed' },
  ]);
  actions.failWith = new ModelRegistryError('recstream has no version 9');
  const missing = await app.inject({
    method: 'POST',
    url: '/admin/promote',
    headers,
    payload: { version: 9 },
  });
  assert.equal(missing.statusCode, 409);
  assert.equal(missing.json().code, 'MODEL_REGISTRY');
  assert.match(await metrics.metrics(), /recstream_admin_requests_total\{action="promote",status="200"\} 2/);
  await app.close();
});

test('RS256 and ES256 tokens verify against a configured PEM public key; HS256 tokens are then refused', async () => {
  for (const alg of ['RS256', 'ES256'] as const) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    // One line, with literal \n, as an environment variable carries it.
    const pem = (await exportSPKI(publicKey)).replaceAll('\n', '\\n');
    const actions = new RecordingActions();
    const app = await appWith({ jwtPublicKey: pem }, actions);
    const token = await new SignJWT({ scope: ADMIN_SCOPE })
      .setProtectedHeader({ alg })
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await app.inject({ method: 'POST', url: '/admin/reindex', headers: bearer(token) });
    assert.equal(res.statusCode, 200, `${alg}: ${res.body}`);
    const hs = await app.inject({ method: 'POST', url: '/admin/reindex', headers: bearer(await hsToken()) });
    assert.equal(hs.statusCode, 401);
    assert.equal(hs.json().reason, 'algorithm_not_allowed');
    assert.deepEqual(actions.calls, [{ action: 'reindex' }]);
    await app.close();
  }
});

test('with both a secret and a public key, each kind of token verifies with its own key', async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const app = await appWith({ jwtSecret: SECRET, jwtPublicKey: await exportSPKI(publicKey) });
  const rs = await new SignJWT({ scope: ADMIN_SCOPE })
    .setProtectedHeader({ alg: 'RS256' })
    .setExpirationTime('5m')
    .sign(privateKey);
  for (const token of [rs, await hsToken()]) {
    const res = await app.inject({ method: 'POST', url: '/admin/reindex', headers: bearer(token) });
    assert.equal(res.statusCode, 200, res.body);
  }
  await app.close();
});

test('without a secret, a public key or an API key the admin API answers 404 ADMIN_DISABLED, token or not', async () => {
  const actions = new RecordingActions();
  const app = await appWith({}, actions);
  for (const headers of [{}, bearer(await hsToken())]) {
    const res = await app.inject({ method: 'POST', url: '/admin/rollback', headers });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), {
      code: 'ADMIN_DISABLED',
      error: 'admin API off: set RECSTREAM_JWT_SECRET, RECSTREAM_JWT_PUBLIC_KEY or RECSTREAM_API_KEYS',
    });
  }
  assert.deepEqual(actions.calls, []);
  await app.close();
});

test('action errors: refusals are 409 with their code, the environment 503, anything else 500 INTERNAL', async () => {
  const actions = new RecordingActions();
  const app = await appWith({ jwtSecret: SECRET }, actions);
  const headers = bearer(await hsToken());
  const cases: [Error, string, number, string][] = [
    [
      new ModelRegistryError('recstream has no promoted version to roll back'),
      'rollback',
      409,
      'MODEL_REGISTRY',
    ],
    [new ArtifactIntegrityError('artifact model.onnx is missing'), 'rollback', 409, 'ARTIFACT_INTEGRITY'],
    [new RetrainRunningError(Date.now()), 'retrain', 409, 'RETRAIN_RUNNING'],
    [new StorageError('no space left on device'), 'reindex', 503, 'STORAGE_UNAVAILABLE'],
    [new UnavailableError('log not open yet'), 'reindex', 503, 'SERVICE_UNAVAILABLE'],
    [new TypeError('x is undefined'), 'reindex', 500, 'INTERNAL'],
  ];
  for (const [error, action, status, code] of cases) {
    actions.failWith = error;
    const res = await app.inject({ method: 'POST', url: `/admin/${action}`, headers });
    assert.equal(res.statusCode, status, `${code}: ${res.body}`);
    assert.equal(res.json().code, code);
    if (status === 409) assert.equal(res.json().error, error.message);
    if (status === 500) assert.doesNotMatch(res.json().error, /undefined/, 'internals are logged, not sent');
    assert.equal(res.headers['retry-after'] !== undefined, code === 'SERVICE_UNAVAILABLE', code);
  }
  await app.close();
});

test('a short secret or a public key that is not RSA / EC P-256 PEM is a ConfigError naming the variable', async () => {
  await assert.rejects(Authenticator.fromConfig({ jwtSecret: 'short' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /RECSTREAM_JWT_SECRET is 5 bytes/);
    return true;
  });
  await assert.rejects(
    Authenticator.fromConfig({ jwtPublicKey: 'not a pem' }),
    /RECSTREAM_JWT_PUBLIC_KEY is not a PEM/,
  );
  const { publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  await assert.rejects(
    Authenticator.fromConfig({ jwtPublicKey: await exportSPKI(publicKey) }),
    /RECSTREAM_JWT_PUBLIC_KEY is a ed25519 key/,
  );
});
