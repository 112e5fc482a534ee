import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';

test('defaults apply when nothing is set', () => {
  const config = loadConfig({});
  assert.equal(config.dataDir, resolve('./data'));
  assert.equal(config.kafkaBrokers, undefined);
  assert.equal(config.httpPort, 8080);
  assert.equal(config.device, 'auto');
  assert.equal(config.kafkaIdempotent, 'true');
  assert.equal(config.serveMaxK, 100);
  assert.equal(config.serveExplorationEpsilon, 0, 'exploration is off unless asked for');
  assert.ok(Object.isFrozen(config));
});

test('environment values are parsed and overrides win', () => {
  const config = loadConfig(
    { RECSTREAM_KAFKA_BROKERS: 'a:9092, b:9093', RECSTREAM_HTTP_PORT: '9000', RECSTREAM_DATA_DIR: '/x' },
    { dataDir: '/y' },
  );
  assert.deepEqual(config.kafkaBrokers, ['a:9092', 'b:9093']);
  assert.equal(config.httpPort, 9000);
  assert.equal(config.dataDir, '/y');
});

test('errors name the variable', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ RECSTREAM_HTTP_PORT: 'eighty' }, /RECSTREAM_HTTP_PORT="eighty" is not a whole number/],
    [{ RECSTREAM_HTTP_PORT: '70000' }, /RECSTREAM_HTTP_PORT=70000 is out of range/],
    [{ RECSTREAM_DEVICE: 'tpu' }, /RECSTREAM_DEVICE="tpu" must be one of auto, cpu, cuda/],
    [{ RECSTREAM_KAFKA_BROKERS: 'localhost' }, /RECSTREAM_KAFKA_BROKERS: "localhost" is not host:port/],
    [{ RECSTREAM_REDIS_URL: 'not a url' }, /RECSTREAM_REDIS_URL="not a url" is not a URL/],
    [{ RECSTREAM_KAFKA_IDEMPOTENT: 'no' }, /RECSTREAM_KAFKA_IDEMPOTENT="no" must be one of true, false/],
    [{ RECSTREAM_SERVE_MAX_K: '0' }, /RECSTREAM_SERVE_MAX_K=0 is out of range/],
    [{ RECSTREAM_SERVE_RANKER_WEIGHT: 'heavy' }, /RECSTREAM_SERVE_RANKER_WEIGHT="heavy" is not a number/],
    [{ RECSTREAM_SERVE_EXPLORATION_EPSILON: '1' }, /RECSTREAM_SERVE_EXPLORATION_EPSILON=1 is out of range/],
    [
      { RECSTREAM_SERVE_EXPLORATION_FRESH_WEIGHT: '0.5' },
      /RECSTREAM_SERVE_EXPLORATION_FRESH_WEIGHT=0.5 is out of range/,
    ],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
    );
  }
});

const HASH = 'a'.repeat(64);

test('HTTP access settings: defaults refuse proxies, keep admin stricter, take no API key', () => {
  const config = loadConfig({});
  assert.equal(config.trustProxy, false);
  assert.equal(config.apiKeys, undefined);
  assert.equal(config.dataEndpointsOpen, 'false');
  assert.ok(config.adminRateLimitPerSecond > 0 && config.adminRateLimitPerSecond < config.rateLimitPerSecond);
});

test('RECSTREAM_API_KEYS parses name:scope+scope:sha256hex entries', () => {
  const config = loadConfig({
    RECSTREAM_API_KEYS: `loader:events:write:${HASH}, ops:admin+users:read:${'B'.repeat(64)}`,
  });
  assert.deepEqual(config.apiKeys, [
    { name: 'loader', scopes: ['events:write'], sha256: HASH },
    { name: 'ops', scopes: ['admin', 'users:read'], sha256: 'b'.repeat(64) },
  ]);
  assert.ok(Object.isFrozen(config.apiKeys));
});

test('a malformed RECSTREAM_API_KEYS entry names the entry and what is wrong', () => {
  const cases: [string, RegExp][] = [
    [`loader${HASH}`, /RECSTREAM_API_KEYS entry 1 is not name:scope\+scope:sha256hex/],
    [`loader:${HASH}`, /RECSTREAM_API_KEYS entry 1 is not name:scope\+scope:sha256hex/],
    [`ok:admin:${HASH},:admin:${'c'.repeat(64)}`, /entry 2: the name "" must be 1-64 letters/],
    [`loader::${HASH}`, /entry 1 \(loader\) names no scope/],
    [
      `loader:events:read:${HASH}`,
      /entry 1 \(loader\): unknown scope "events:read"; known: recommendations:read, events:write, users:read, admin/,
    ],
    [`loader:events:write+:${HASH}`, /entry 1 \(loader\): unknown scope ""/],
    [
      'loader:events:write:abc123',
      /entry 1 \(loader\): the key's sha256 must be 64 hex digits .*sha256sum.*got 6 characters/,
    ],
    [`loader:events:write:${'g'.repeat(64)}`, /entry 1 \(loader\): the key's sha256 must be 64 hex digits/],
    [`a:admin:${HASH},a:admin:${'c'.repeat(64)}`, /entry 2 \(a\): the name is used by another entry/],
    [`a:admin:${HASH},b:admin:${HASH}`, /entry 2 \(b\): the same key is already configured as "a"/],
    [' , ', /RECSTREAM_API_KEYS is set but holds no entry/],
  ];
  for (const [raw, message] of cases)
    assert.throws(
      () => loadConfig({ RECSTREAM_API_KEYS: raw }),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      raw,
    );
});

test('RECSTREAM_TRUST_PROXY takes false or the proxies’ addresses and CIDR ranges, refusing forms that believe clients', () => {
  assert.deepEqual(
    loadConfig({ RECSTREAM_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,fd00::/8,loopback' }).trustProxy,
    ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8', 'loopback'],
  );
  assert.equal(loadConfig({ RECSTREAM_TRUST_PROXY: 'false' }).trustProxy, false);
  const cases: [string, RegExp][] = [
    ['true', /RECSTREAM_TRUST_PROXY=true would believe the X-Forwarded-For of any caller/],
    ['2', /RECSTREAM_TRUST_PROXY=2: a hop count cannot tell a proxy from a client/],
    ['10.0.0.0/33', /RECSTREAM_TRUST_PROXY: "10.0.0.0\/33" is not an IP address or CIDR range/],
    ['proxy.internal', /"proxy.internal" is not an IP address/],
    ['10.0.0.1/8/8', /"10.0.0.1\/8\/8" is not an IP address/],
    [',', /RECSTREAM_TRUST_PROXY is set but names no proxy/],
  ];
  for (const [raw, message] of cases)
    assert.throws(
      () => loadConfig({ RECSTREAM_TRUST_PROXY: raw }),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      raw,
    );
});

test('RECSTREAM_DATA_ENDPOINTS_OPEN and RECSTREAM_ADMIN_RATE_LIMIT_PER_S are validated', () => {
  assert.equal(loadConfig({ RECSTREAM_DATA_ENDPOINTS_OPEN: 'true' }).dataEndpointsOpen, 'true');
  assert.throws(
    () => loadConfig({ RECSTREAM_DATA_ENDPOINTS_OPEN: 'yes' }),
    /RECSTREAM_DATA_ENDPOINTS_OPEN="yes" must be one of true, false/,
  );
  assert.equal(loadConfig({ RECSTREAM_ADMIN_RATE_LIMIT_PER_S: '0' }).adminRateLimitPerSecond, 0);
  assert.throws(
    () => loadConfig({ RECSTREAM_ADMIN_RATE_LIMIT_PER_S: '-1' }),
    /RECSTREAM_ADMIN_RATE_LIMIT_PER_S=-1 is out of range/,
  );
});

test('RECSTREAM_CANARY_STEPS takes shares rising inside (0, 1] to 1; the gate canary is a percentage below 100', () => {
  assert.deepEqual(loadConfig({}).canarySteps, [0.05, 0.25, 0.5, 1]);
  assert.deepEqual(loadConfig({ RECSTREAM_CANARY_STEPS: ' 0.1, 0.5 ,1' }).canarySteps, [0.1, 0.5, 1]);
  assert.equal(loadConfig({}).gateCanaryPct, 0);
  for (const steps of ['0.1,0.5', '0.5,0.1,1', '0,0.5,1', '0.1,x,1', '0.5,1.5', ',']) {
    assert.throws(
      () => loadConfig({ RECSTREAM_CANARY_STEPS: steps }),
      (err: unknown) =>
        err instanceof ConfigError && /RECSTREAM_CANARY_STEPS=".*" must be shares rising/.test(err.message),
      steps,
    );
  }
  assert.throws(
    () => loadConfig({ RECSTREAM_GATE_CANARY_PCT: '100' }),
    (err: unknown) =>
      err instanceof ConfigError && /RECSTREAM_GATE_CANARY_PCT=100 is out of range/.test(err.message),
  );
});

test('RECSTREAM_PROCESS_THREADS is a whole number from 1 or auto, 1 by default', () => {
  assert.equal(loadConfig({}).processThreads, '1');
  assert.equal(loadConfig({ RECSTREAM_PROCESS_THREADS: 'auto' }).processThreads, 'auto');
  assert.equal(loadConfig({ RECSTREAM_PROCESS_THREADS: '4' }).processThreads, '4');
  for (const bad of ['0', '-2', '1.5', 'two', '01'])
    assert.throws(
      () => loadConfig({ RECSTREAM_PROCESS_THREADS: bad }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          `RECSTREAM_PROCESS_THREADS=${JSON.stringify(bad)} must be a whole number from 1, or auto`,
      bad,
    );
});
