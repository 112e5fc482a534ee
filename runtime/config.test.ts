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
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
    );
  }
});
