import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { describeUser, hashUserId, redactUserId, useLogHashKey } from './user-hash.js';

const KEY_A = 'a'.repeat(16) + '0123456789abcdef';
const KEY_B = 'b'.repeat(16) + '0123456789abcdef';

test('the hash is keyed: one key gives one hash per id, another key another, and neither is the plain sha256', () => {
  const id = 'u42';
  const unkeyed = createHash('sha256').update(id).digest('hex');
  const before = hashUserId(id);
  assert.match(before, /^[0-9a-f]{16}$/);
  assert.ok(!unkeyed.startsWith(before), 'the random start-up key is not a plain sha256 either');

  useLogHashKey(KEY_A);
  const a = hashUserId(id);
  assert.equal(hashUserId(id), a, 'same key, same hash');
  assert.equal(
    a,
    createHmac('sha256', KEY_A).update(id).digest('hex').slice(0, 16),
    'HMAC-SHA256 under the key',
  );
  assert.ok(!unkeyed.startsWith(a), 'not a prefix of the plain sha256');
  assert.notEqual(hashUserId('u43'), a);

  useLogHashKey(KEY_B);
  assert.notEqual(hashUserId(id), a, 'another key, another hash');
  useLogHashKey(KEY_A);
  assert.equal(hashUserId(id), a, 'back to the first key, back to its hash');
  useLogHashKey(undefined);
  assert.equal(hashUserId(id), a, 'no key configured keeps the one in use');
});

test('a worker thread started after the key is set hashes with the same key', async () => {
  useLogHashKey(KEY_B);
  const moduleUrl = new URL('./user-hash.js', import.meta.url).href;
  const worker = new Worker(
    `import(${JSON.stringify(moduleUrl)}).then((m) => require('node:worker_threads').parentPort.postMessage(m.hashUserId('u42')));`,
    { eval: true },
  );
  const fromWorker = await new Promise<string>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.equal(fromWorker, hashUserId('u42'));
});

test('a key that is too short or holds white space is refused at start, naming the variable', () => {
  for (const bad of ['short', `${KEY_A}\n`, `${KEY_A.slice(0, 20)} ${KEY_A.slice(20)}`]) {
    assert.throws(
      () => loadConfig({ RECSTREAM_LOG_HASH_KEY: bad }),
      (error: unknown) => error instanceof ConfigError && /RECSTREAM_LOG_HASH_KEY/.test(error.message),
      JSON.stringify(bad),
    );
    assert.throws(() => useLogHashKey(bad), ConfigError);
  }
  assert.equal(loadConfig({ RECSTREAM_LOG_HASH_KEY: KEY_A }).logHashKey, KEY_A);
  assert.equal(loadConfig({}).logHashKey, undefined);
});

test('redaction hashes the id where it stands alone, not inside a longer id', () => {
  useLogHashKey(KEY_A);
  const text = 'key "u4" is not its user_id "u42"; u4 again, and u4.x is another id';
  assert.equal(
    redactUserId(text, 'u4'),
    `key "${describeUser('u4')}" is not its user_id "u42"; ${describeUser('u4')} again, and u4.x is another id`,
  );
  assert.equal(redactUserId('no id here', 'u4'), 'no id here');
  assert.equal(redactUserId('a+b (c) a+b', 'a+b'), `${describeUser('a+b')} (c) ${describeUser('a+b')}`);
});
