import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { startResponder } from '../../app/responder.js';
import { freePort } from '../../bench/loopback.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { openPlatform } from '../../schemas/platform.js';
import { finished, startCli } from '../../test/cli.js';
import { DataEndpointsOpenError } from '../errors.js';
import { event } from '../responder.fixture.js';
import { dataEndpointAccess, isLoopbackHost } from './exposure.js';

const SECRET = 'exposure-test-secret-of-at-least-32-bytes';
const none = { configured: false, describe: () => 'no credentials' };
const some = { configured: true, describe: () => 'bearer JWTs (HS256)' };

test('loopback hosts: 127.0.0.0/8, ::1 and localhost; everything else is not', () => {
  for (const host of [
    '127.0.0.1',
    '127.8.9.10',
    'localhost',
    'LOCALHOST',
    '::1',
    '[::1]',
    '::ffff:127.0.0.1',
  ])
    assert.equal(isLoopbackHost(host), true, host);
  for (const host of [
    '0.0.0.0',
    '::',
    '10.0.0.5',
    '192.168.1.2',
    'example.com',
    '128.0.0.1',
    '::ffff:10.0.0.1',
    '',
  ])
    assert.equal(isLoopbackHost(host), false, host);
});

test('the rule: credentials required when configured; open on loopback; refused elsewhere unless told', () => {
  assert.deepEqual(
    { ...dataEndpointAccess({ httpHost: '0.0.0.0', dataEndpointsOpen: 'false' }, some), summary: '' },
    { open: false, why: 'credentials', summary: '' },
  );
  const loopback = dataEndpointAccess({ httpHost: '127.0.0.1', dataEndpointsOpen: 'false' }, none);
  assert.equal(loopback.open, true);
  assert.equal(loopback.why, 'loopback');
  assert.match(loopback.summary, /open to anyone on this host.*loopback 127\.0\.0\.1/);
  assert.throws(
    () => dataEndpointAccess({ httpHost: '0.0.0.0', dataEndpointsOpen: 'false' }, none),
    (err: unknown) =>
      err instanceof DataEndpointsOpenError &&
      err.code === 'DATA_ENDPOINTS_OPEN' &&
      /refusing to listen on 0\.0\.0\.0/.test(err.message) &&
      /RECSTREAM_DATA_ENDPOINTS_OPEN=true/.test(err.message) &&
      /RECSTREAM_JWT_SECRET, RECSTREAM_JWT_PUBLIC_KEY or RECSTREAM_API_KEYS/.test(err.message),
  );
  const told = dataEndpointAccess({ httpHost: '0.0.0.0', dataEndpointsOpen: 'true' }, none);
  assert.equal(told.open, true);
  assert.equal(told.why, 'override');
  assert.match(told.summary, /RECSTREAM_DATA_ENDPOINTS_OPEN=true/);
});

async function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
    socket.connect(port, '127.0.0.1');
  });
}

test('startResponder refuses a non-loopback host without credentials before it listens, and listens on loopback saying it is open', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-exposure-'));
  const port = await freePort();
  const open = async (env: Record<string, string>) =>
    openPlatform(
      loadConfig({ RECSTREAM_LOG_FSYNC: 'never', RECSTREAM_HTTP_PORT: String(port), ...env }, { dataDir }),
      { logger: silentLogger() },
    );
  try {
    const exposed = await open({ RECSTREAM_HTTP_HOST: '0.0.0.0' });
    try {
      const started = await startResponder(exposed).then(
        async (responder) => {
          // A regression listens on every interface: stop at once, then fail.
          await responder.close();
          return responder;
        },
        (error: unknown) => error,
      );
      assert.ok(started instanceof DataEndpointsOpenError, `refused: ${String(started)}`);
      assert.ok(await refusesConnections(port), 'nothing listens after the refusal');
    } finally {
      await exposed.close();
    }

    const loopback = await open({ RECSTREAM_HTTP_HOST: '127.0.0.1' });
    const responder = await startResponder(loopback);
    try {
      await responder.started;
      assert.equal(responder.access.why, 'loopback');
      const posted = await fetch(`${responder.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([event(1)]),
      });
      assert.equal(posted.status, 202);
    } finally {
      await responder.close();
      await loopback.close();
    }

    const guarded = await open({ RECSTREAM_HTTP_HOST: '127.0.0.1', RECSTREAM_JWT_SECRET: SECRET });
    const withAuth = await startResponder(guarded);
    try {
      await withAuth.started;
      assert.equal(withAuth.access.why, 'credentials');
      assert.match(withAuth.access.summary, /need credentials: bearer JWTs \(HS256\)/);
      const post = (headers: Record<string, string>) =>
        fetch(`${withAuth.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify([event(2)]),
        });
      assert.equal((await post({})).status, 401);
      const token = await new SignJWT({ scope: 'events:write' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(SECRET));
      assert.equal((await post({ authorization: `Bearer ${token}` })).status, 202);
    } finally {
      await withAuth.close();
      await guarded.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('every command that listens refuses a non-loopback host without credentials, naming the way out', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-exposure-cli-'));
  const port = String(await freePort());
  try {
    for (const command of ['serve', 'up', 'demo']) {
      const child = startCli([command, '--data-dir', dataDir], {
        RECSTREAM_HTTP_HOST: '0.0.0.0',
        RECSTREAM_HTTP_PORT: port,
      });
      // A command that does not refuse would serve on every interface until killed: stop it as soon
      // as it says it listens, or after a minute.
      const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (/listening on|serving on/.test(d.toString())) child.kill('SIGKILL');
      });
      const result = await finished(child);
      clearTimeout(deadline);
      assert.equal(result.signal, null, `${command} did not exit by itself: ${result.stdout}`);
      assert.notEqual(result.code, 0, `${command}: ${result.stdout}`);
      assert.match(result.stderr, /refusing to listen on 0\.0\.0\.0/, command);
      assert.match(result.stderr, /RECSTREAM_DATA_ENDPOINTS_OPEN=true/, command);
      assert.match(result.stderr, /RECSTREAM_API_KEYS/, command);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
