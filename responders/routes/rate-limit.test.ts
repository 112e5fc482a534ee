import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { parseApiKeys, type TrustProxy } from '../../runtime/http-access.js';
import { createResponderApp } from '../app.js';
import { AccessPolicy } from '../auth/access.js';
import { Authenticator } from '../auth/authenticator.js';
import { Readiness } from '../readiness.js';
import type { AdminActions } from './admin.js';
import { type ClientRateLimitOptions, RATE_LIMIT_DEFAULTS } from './rate-limit.js';

const SECRET = 'rate-limit-test-secret-of-at-least-32-bytes';
const KEY = 'rsk_rate_limit_test_key';
const API_KEYS = parseApiKeys(
  'RECSTREAM_API_KEYS',
  `loader:events:write:${createHash('sha256').update(KEY).digest('hex')}`,
);

const ACTIONS: AdminActions = {
  retrain: async () => ({ accepted: true }),
  reindex: async () => ({ kind: 'up-to-date' }),
  rollback: async () => ({}),
  promote: async () => ({}),
};

async function appWith(
  rateLimit: ClientRateLimitOptions,
  trustProxy: TrustProxy = false,
): Promise<FastifyInstance> {
  return createResponderApp({
    metrics: new Registry(),
    readiness: new Readiness(),
    access: new AccessPolicy(await Authenticator.fromConfig({ jwtSecret: SECRET, apiKeys: API_KEYS }), false),
    admin: { actions: ACTIONS },
    trustProxy,
    rateLimit,
  });
}

async function token(subject: string | undefined, scope = 'admin'): Promise<string> {
  const jwt = new SignJWT({ scope }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m');
  if (subject !== undefined) jwt.setSubject(subject);
  return jwt.sign(new TextEncoder().encode(SECRET));
}

const ping = (app: FastifyInstance, headers: Record<string, string> = {}, remoteAddress = '10.0.0.1') =>
  app.inject({ method: 'GET', url: '/healthz', headers, remoteAddress });
const statuses = async (n: number, send: () => Promise<{ statusCode: number }>) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).statusCode);
  return out;
};

test('over the limit a client gets 429 RATE_LIMITED with Retry-After; another address is unaffected', async () => {
  const app = await appWith({ max: 3, windowMs: 60_000 });
  assert.deepEqual(await statuses(3, () => ping(app)), [200, 200, 200]);
  const limited = await ping(app);
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().code, 'RATE_LIMITED');
  assert.match(limited.json().error, /more than 3 requests in 60000 ms/);
  const retryAfter = Number(limited.headers['retry-after']);
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${limited.headers['retry-after']}`);
  assert.equal((await ping(app, {}, '10.0.0.2')).statusCode, 200, 'another address has its own counter');
  await app.close();
});

test('x-client-id does not choose the counter: a client cannot dodge the limit by inventing ids', async () => {
  const app = await appWith({ max: 2, windowMs: 60_000 });
  const codes = await statuses(4, async () => ping(app, { 'x-client-id': `id-${Math.random()}` }));
  assert.deepEqual(codes, [200, 200, 429, 429]);
  await app.close();
});

test('with credentials the counter is the subject: JWT sub or API key name, wherever it calls from', async () => {
  const app = await appWith({ max: 2, windowMs: 60_000 });
  const alice = { authorization: `Bearer ${await token('alice')}` };
  const bob = { authorization: `Bearer ${await token('bob')}` };
  // alice from two addresses shares one counter.
  assert.equal((await ping(app, alice, '10.0.0.1')).statusCode, 200);
  assert.equal((await ping(app, alice, '10.0.0.2')).statusCode, 200);
  assert.equal((await ping(app, alice, '10.0.0.3')).statusCode, 429);
  // bob, from alice's first address, has his own; so does the address itself without credentials.
  assert.deepEqual(await statuses(2, () => ping(app, bob, '10.0.0.1')), [200, 200]);
  assert.deepEqual(await statuses(2, () => ping(app, {}, '10.0.0.1')), [200, 200]);
  const key = { authorization: `ApiKey ${KEY}` };
  assert.deepEqual(
    [
      (await ping(app, key, '10.0.0.7')).statusCode,
      (await ping(app, key, '10.0.0.8')).statusCode,
      (await ping(app, key, '10.0.0.9')).statusCode,
    ],
    [200, 200, 429],
  );
  await app.close();
});

test('refused credentials and tokens without sub are counted by address', async () => {
  const app = await appWith({ max: 2, windowMs: 60_000 });
  const forged = { authorization: `Bearer ${await token('alice')}x` };
  const anonymous = { authorization: `Bearer ${await token(undefined)}` };
  assert.deepEqual(
    [
      (await ping(app, forged, '10.0.0.5')).statusCode,
      (await ping(app, anonymous, '10.0.0.5')).statusCode,
      (await ping(app, {}, '10.0.0.5')).statusCode,
    ],
    [200, 200, 429],
  );
  await app.close();
});

test('X-Forwarded-For is ignored by default and believed only from a trusted proxy', async () => {
  const forwarded = (ip: string) => ({ 'x-forwarded-for': ip });
  const untrusting = await appWith({ max: 1, windowMs: 60_000 });
  assert.equal((await ping(untrusting, forwarded('198.51.100.1'), '10.0.0.1')).statusCode, 200);
  assert.equal(
    (await ping(untrusting, forwarded('198.51.100.2'), '10.0.0.1')).statusCode,
    429,
    'a made-up X-Forwarded-For does not make a new client',
  );
  await untrusting.close();

  const behindProxy = await appWith({ max: 1, windowMs: 60_000 }, ['10.0.0.0/24']);
  assert.equal((await ping(behindProxy, forwarded('198.51.100.1'), '10.0.0.1')).statusCode, 200);
  assert.equal((await ping(behindProxy, forwarded('198.51.100.2'), '10.0.0.1')).statusCode, 200);
  assert.equal((await ping(behindProxy, forwarded('198.51.100.1'), '10.0.0.9')).statusCode, 429);
  // A peer outside the trusted range is the client itself, whatever header it sends.
  assert.equal((await ping(behindProxy, forwarded('198.51.100.3'), '203.0.113.7')).statusCode, 200);
  assert.equal((await ping(behindProxy, forwarded('198.51.100.4'), '203.0.113.7')).statusCode, 429);
  await behindProxy.close();
});

test('admin routes have their own, stricter limit, counted apart from the other routes', async () => {
  const app = await appWith({ max: 100, adminMax: 2, windowMs: 60_000 });
  const admin = { authorization: `Bearer ${await token('ops')}` };
  const reindex = () => app.inject({ method: 'POST', url: '/admin/reindex', headers: admin });
  assert.deepEqual(await statuses(3, reindex), [200, 200, 429]);
  const limited = await reindex();
  assert.match(limited.json().error, /more than 2 admin requests/);
  // The same subject's other requests are under the general limit, untouched by the admin count.
  assert.deepEqual(await statuses(5, () => ping(app, admin)), [200, 200, 200, 200, 200]);
  await app.close();

  const generalFirst = await appWith({ max: 3, adminMax: 2, windowMs: 60_000 });
  const ops = { authorization: `Bearer ${await token('ops')}` };
  await statuses(3, () => ping(generalFirst, ops));
  assert.equal((await ping(generalFirst, ops)).statusCode, 429);
  assert.equal(
    (await generalFirst.inject({ method: 'POST', url: '/admin/reindex', headers: ops })).statusCode,
    200,
    'general requests did not use up the admin budget',
  );
  await generalFirst.close();
});

test('a new window lets the client in again; 0 turns a limit off', async () => {
  const app = await appWith({ max: 1, windowMs: 50 });
  assert.equal((await ping(app)).statusCode, 200);
  assert.equal((await ping(app)).statusCode, 429);
  await sleep(80);
  assert.equal((await ping(app)).statusCode, 200);
  await app.close();
  const adminOnly = await appWith({ max: 0, adminMax: 1, windowMs: 60_000 });
  assert.deepEqual(await statuses(20, () => ping(adminOnly)), Array(20).fill(200));
  await adminOnly.close();
});

test('defaults are 6000 per second; options that are not whole numbers are refused', async () => {
  assert.deepEqual(RATE_LIMIT_DEFAULTS, { max: 6000, windowMs: 1000, cacheSize: 10_000 });
  const app = await appWith({});
  const responses = await Promise.all(Array.from({ length: 50 }, () => ping(app)));
  assert.ok(responses.every((r) => r.statusCode === 200));
  await app.close();
  await assert.rejects(appWith({ max: -1 }), /max must be a whole number, 0 or more/);
  await assert.rejects(appWith({ adminMax: 0.5 }), /adminMax must be a whole number/);
  await assert.rejects(appWith({ windowMs: 1.5 }), /windowMs must be a positive whole number/);
});
