/**
 * The Kafka client settings from the configuration reach the wire: a TLS
 * listener on loopback with a certificate of a CA made here sees kafkajs'
 * handshake only when the CA file is configured, and the requests that
 * follow carry the configured client id and SASL mechanism.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { loadConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { kafkaLogOptions } from './client-config.js';
import { KafkaLog } from './kafka-log.js';

const run = promisify(execFile);

test('kafkaLogOptions maps every Kafka setting', async () => {
  const config = loadConfig({
    RECSTREAM_KAFKA_BROKERS: 'k1:9093,k2:9093',
    RECSTREAM_KAFKA_CLIENT_ID: 'recstream-process-0',
    RECSTREAM_KAFKA_IDEMPOTENT: 'false',
    RECSTREAM_KAFKA_SASL_MECHANISM: 'scram-sha-256',
    RECSTREAM_KAFKA_SASL_USERNAME: 'svc',
    RECSTREAM_KAFKA_SASL_PASSWORD: 'pw',
    RECSTREAM_KAFKA_TLS: 'true',
    RECSTREAM_KAFKA_CONNECTION_TIMEOUT_MS: '5000',
    RECSTREAM_KAFKA_REQUEST_TIMEOUT_MS: '45000',
    RECSTREAM_KAFKA_MAX_REQUEST_BYTES: '60000',
  });
  assert.deepEqual(await kafkaLogOptions(config), {
    brokers: ['k1:9093', 'k2:9093'],
    clientId: 'recstream-process-0',
    idempotent: false,
    connectionTimeoutMs: 5000,
    requestTimeoutMs: 45000,
    maxRequestBytes: 60000,
    sasl: { mechanism: 'scram-sha-256', username: 'svc', password: 'pw' },
    tls: true,
  });
  const plain = await kafkaLogOptions(loadConfig({ RECSTREAM_KAFKA_BROKERS: 'k1:9092' }));
  assert.deepEqual(plain, {
    brokers: ['k1:9092'],
    clientId: 'recstream',
    idempotent: true,
    connectionTimeoutMs: 3000,
    requestTimeoutMs: 30000,
    maxRequestBytes: 1_048_576,
  });
});

test('settings that only work together are refused, naming the variables', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { RECSTREAM_KAFKA_SASL_MECHANISM: 'plain', RECSTREAM_KAFKA_SASL_USERNAME: 'svc' },
      /RECSTREAM_KAFKA_SASL_MECHANISM=plain needs RECSTREAM_KAFKA_SASL_USERNAME and RECSTREAM_KAFKA_SASL_PASSWORD/,
    ],
    [{ RECSTREAM_KAFKA_SASL_PASSWORD: 'pw' }, /are set but RECSTREAM_KAFKA_SASL_MECHANISM is none/],
    [{ RECSTREAM_KAFKA_SASL_MECHANISM: 'gssapi' }, /RECSTREAM_KAFKA_SASL_MECHANISM="gssapi" must be one of/],
    [
      { RECSTREAM_KAFKA_TLS_CA_FILE: '/ca.pem' },
      /RECSTREAM_KAFKA_TLS_CA_FILE is set but RECSTREAM_KAFKA_TLS is not true/,
    ],
    [{ RECSTREAM_KAFKA_REQUEST_TIMEOUT_MS: '0' }, /RECSTREAM_KAFKA_REQUEST_TIMEOUT_MS=0 is out of range/],
  ];
  for (const [env, message] of cases)
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
    );
  const missingCa = loadConfig({
    RECSTREAM_KAFKA_BROKERS: 'k1:9093',
    RECSTREAM_KAFKA_TLS: 'true',
    RECSTREAM_KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem',
  });
  await assert.rejects(
    kafkaLogOptions(missingCa),
    /RECSTREAM_KAFKA_TLS_CA_FILE=\/nonexistent\/ca.pem cannot be read/,
  );
});

/** A loopback TLS listener that answers ApiVersions and records every request's api key, client id and body. */
interface Listener {
  readonly port: number;
  readonly requests: { apiKey: number; clientId: string; body: Buffer }[];
  /** TLS errors of connections the listener refused (a client that did not speak TLS). */
  readonly refusedHandshakes: string[];
  close(): Promise<void>;
}

let dir: string;
let listener: Listener;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstream-kafka-tls-'));
  const at = (name: string) => join(dir, name);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=recstream-test-ca',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.pem'),
  ]);
  await run('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    at('broker.key'),
    '-out',
    at('broker.csr'),
  ]);
  await run('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > '${at('san.cnf')}'`]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    at('broker.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    at('san.cnf'),
    '-out',
    at('broker.pem'),
  ]);
  listener = await listen(await readFile(at('broker.key')), await readFile(at('broker.pem')));
});

after(async () => {
  await listener?.close();
  await rm(dir, { recursive: true, force: true });
});

async function listen(key: Buffer, cert: Buffer): Promise<Listener> {
  const requests: Listener['requests'] = [];
  const refusedHandshakes: string[] = [];
  const sockets = new Set<TLSSocket>();
  const server: Server = createServer({ key, cert }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        const apiKey = frame.readInt16BE(0);
        const correlationId = frame.readInt32BE(4);
        const idLength = frame.readInt16BE(8);
        const clientId = frame.subarray(10, 10 + idLength).toString('utf8');
        requests.push({ apiKey, clientId, body: frame.subarray(10 + idLength) });
        if (apiKey === 18) socket.write(apiVersionsResponse(correlationId, frame.readInt16BE(2)));
        else socket.destroy();
      }
    });
  });
  server.on('tlsClientError', (error) => refusedHandshakes.push(error.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    refusedHandshakes,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** ApiVersions v0–v2: no error, offering SaslHandshake (17) v0–1, ApiVersions (18) v0–2 and SaslAuthenticate (36) v0–1. */
function apiVersionsResponse(correlationId: number, version: number): Buffer {
  const apis = [
    [17, 0, 1],
    [18, 0, 2],
    [36, 0, 1],
  ];
  const body = Buffer.alloc(4 + 2 + 4 + apis.length * 6 + (version >= 1 ? 4 : 0));
  let at = body.writeInt32BE(correlationId, 0);
  at = body.writeInt16BE(0, at);
  at = body.writeInt32BE(apis.length, at);
  for (const [key, min, max] of apis) {
    at = body.writeInt16BE(key!, at);
    at = body.writeInt16BE(min!, at);
    at = body.writeInt16BE(max!, at);
  }
  if (version >= 1) body.writeInt32BE(0, at);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** Lists topics through a KafkaLog configured by `env`; returns the error it fails with. */
async function tryTopics(env: Record<string, string>): Promise<Error> {
  const config = loadConfig({
    RECSTREAM_KAFKA_BROKERS: `127.0.0.1:${listener.port}`,
    RECSTREAM_KAFKA_CONNECTION_TIMEOUT_MS: '2000',
    RECSTREAM_KAFKA_REQUEST_TIMEOUT_MS: '2000',
    ...env,
  });
  const log = new KafkaLog({
    ...(await kafkaLogOptions(config, {
      warn: () => {},
      error: () => {},
      info: () => {},
      debug: () => {},
    } as never)),
    retry: { retries: 0 },
  });
  try {
    await log.topics();
  } catch (error) {
    return error as Error;
  } finally {
    await log.close();
  }
  assert.fail('listing topics through the test listener succeeded');
}

test('with TLS and the CA file, kafkajs completes the handshake and sends the client id and SASL mechanism', async () => {
  listener.requests.length = 0;
  await tryTopics({
    RECSTREAM_KAFKA_TLS: 'true',
    RECSTREAM_KAFKA_TLS_CA_FILE: join(dir, 'ca.pem'),
    RECSTREAM_KAFKA_CLIENT_ID: 'recstream-tls-check',
    RECSTREAM_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    RECSTREAM_KAFKA_SASL_USERNAME: 'svc',
    RECSTREAM_KAFKA_SASL_PASSWORD: 'pw',
  });
  const [versions, handshake] = listener.requests;
  assert.equal(versions?.apiKey, 18, 'ApiVersions first, over TLS');
  assert.equal(versions?.clientId, 'recstream-tls-check');
  assert.equal(handshake?.apiKey, 17, 'then SaslHandshake');
  assert.match(handshake!.body.toString('latin1'), /SCRAM-SHA-512/);
});

test('with TLS but without the CA file, kafkajs refuses the broker certificate', async () => {
  listener.requests.length = 0;
  listener.refusedHandshakes.length = 0;
  const error = await tryTopics({ RECSTREAM_KAFKA_TLS: 'true' });
  assert.match(error.message, /certificate/);
  assert.deepEqual(listener.requests, [], 'no request crosses an unverified connection');
});

test('without TLS, kafkajs speaks plain Kafka to the TLS listener, which sees no handshake', async () => {
  listener.requests.length = 0;
  listener.refusedHandshakes.length = 0;
  await tryTopics({});
  assert.deepEqual(listener.requests, []);
  // The listener's side of the failed handshake may be reported after the client gave up.
  for (let waited = 0; listener.refusedHandshakes.length === 0 && waited < 2000; waited += 20)
    await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(listener.refusedHandshakes.length > 0, 'the listener refused a plain-text client');
});
