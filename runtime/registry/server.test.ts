import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { openEmbeddedRegistry } from './embedded/embedded-registry.js';
import type { SchemaRegistry } from './registry.js';
import { registryRoutes } from './server.js';

const MEDIA = 'application/vnd.schemaregistry.v1+json';
const v1 = { type: 'record', name: 'Item', namespace: 't', fields: [{ name: 'id', type: 'string' }] };
const v2 = { ...v1, fields: [...v1.fields, { name: 'rank', type: 'int', default: 0 }] };
const v3 = {
  ...v1,
  fields: [...v1.fields, { name: 'rank', type: 'int', default: 0 }, { name: 'lang', type: 'string' }],
};

let dir: string;
let registry: SchemaRegistry;
let app: FastifyInstance;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstream-server-'));
  registry = await openEmbeddedRegistry({ dataDir: dir });
  app = Fastify();
  await app.register(registryRoutes, { registry });
});

after(async () => {
  await app.close();
  await registry.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) {
  const response = await app.inject({
    method,
    url,
    headers: body === undefined ? {} : { 'content-type': MEDIA },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.statusCode, body: response.json(), type: response.headers['content-type'] };
}

describe('Confluent REST API', () => {
  test('register, list and read versions in Confluent shapes', async () => {
    assert.deepEqual(await call('GET', '/subjects'), { status: 200, body: [], type: MEDIA });
    assert.deepEqual(await call('POST', '/subjects/t.items-value/versions', { schema: JSON.stringify(v1) }), {
      status: 200,
      body: { id: 1 },
      type: MEDIA,
    });
    assert.deepEqual(
      (await call('POST', '/subjects/t.items-value/versions', { schema: JSON.stringify(v2) })).body,
      {
        id: 2,
      },
    );
    assert.deepEqual((await call('GET', '/subjects')).body, ['t.items-value']);
    assert.deepEqual((await call('GET', '/subjects/t.items-value/versions')).body, [1, 2]);
    assert.deepEqual((await call('GET', '/subjects/t.items-value/versions/latest')).body, {
      subject: 't.items-value',
      version: 2,
      id: 2,
      schema: JSON.stringify(v2),
    });
    assert.equal((await call('GET', '/subjects/t.items-value/versions/-1')).body.version, 2);
    assert.deepEqual((await call('GET', '/subjects/t.items-value/versions/1/schema')).body, v1);
    assert.deepEqual((await call('GET', '/schemas/ids/1')).body, { schema: JSON.stringify(v1) });
    assert.deepEqual((await call('GET', '/schemas/ids/2/schema')).body, v2);
    assert.deepEqual((await call('GET', '/schemas/types')).body, ['AVRO']);
  });

  test('lookup by schema', async () => {
    const found = await call('POST', '/subjects/t.items-value', { schema: JSON.stringify(v1) });
    assert.deepEqual(found.body, { subject: 't.items-value', version: 1, id: 1, schema: JSON.stringify(v1) });
    assert.deepEqual(
      (await call('POST', '/subjects/t.items-value', { schema: JSON.stringify(v3) })).body.error_code,
      40403,
    );
    assert.deepEqual(
      (await call('POST', '/subjects/t.nope-value', { schema: JSON.stringify(v1) })).body.error_code,
      40401,
    );
  });

  test('not found: 40401 subject, 40402 version, 40403 schema; 42202 for a bad version', async () => {
    const cases: [string, number, number][] = [
      ['/subjects/t.nope-value/versions', 404, 40401],
      ['/subjects/t.nope-value/versions/latest', 404, 40401],
      ['/subjects/t.items-value/versions/9', 404, 40402],
      ['/schemas/ids/99', 404, 40403],
      ['/schemas/ids/abc', 404, 40403],
      ['/subjects/t.items-value/versions/abc', 422, 42202],
    ];
    for (const [url, status, code] of cases) {
      const response = await call('GET', url);
      assert.equal(response.status, status, url);
      assert.equal(response.body.error_code, code, url);
      assert.equal(typeof response.body.message, 'string');
    }
  });

  test('an incompatible schema is a 409 whose message names the field', async () => {
    const response = await call('POST', '/subjects/t.items-value/versions', { schema: JSON.stringify(v3) });
    assert.equal(response.status, 409);
    assert.equal(response.body.error_code, 409);
    assert.match(
      response.body.message,
      /t.items-value v3 is not BACKWARD compatible with v2: field 'lang' has no default/,
    );
  });

  test('invalid schemas and bodies are 422 42201', async () => {
    for (const body of [
      { schema: '{"type": "record"' },
      { schema: JSON.stringify({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'nope' }] }) },
      { schema: JSON.stringify(v1), schemaType: 'PROTOBUF' },
      { schema: JSON.stringify(v1), references: [{ name: 'x', subject: 'y', version: 1 }] },
      { schema: v1 },
      {},
    ]) {
      const response = await call('POST', '/subjects/t.bad-value/versions', body);
      assert.equal(response.status, 422, JSON.stringify(body));
      assert.equal(response.body.error_code, 42201);
    }
    const malformed = await app.inject({
      method: 'POST',
      url: '/subjects/t.bad-value/versions',
      headers: { 'content-type': MEDIA },
      payload: '{"schema":',
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error_code, 400);
  });

  test('compatibility levels: global and per subject', async () => {
    assert.deepEqual((await call('GET', '/config')).body, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual((await call('GET', '/config/t.items-value')).body, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual((await call('PUT', '/config/t.items-value', { compatibility: 'FULL' })).body, {
      compatibility: 'FULL',
    });
    assert.deepEqual((await call('GET', '/config/t.items-value')).body, { compatibilityLevel: 'FULL' });
    assert.deepEqual((await call('GET', '/config')).body, { compatibilityLevel: 'BACKWARD' });
    const bad = await call('PUT', '/config/t.items-value', { compatibility: 'SIDEWAYS' });
    assert.deepEqual([bad.status, bad.body.error_code], [422, 42203]);
    await call('PUT', '/config/t.items-value', { compatibility: 'BACKWARD' });
  });

  test('compatibility tests, terse and verbose', async () => {
    const url = '/compatibility/subjects/t.items-value/versions';
    assert.deepEqual((await call('POST', `${url}/latest`, { schema: JSON.stringify(v2) })).body, {
      is_compatible: true,
    });
    assert.deepEqual((await call('POST', `${url}/latest`, { schema: JSON.stringify(v3) })).body, {
      is_compatible: false,
    });
    const verbose = await call('POST', `${url}/latest?verbose=true`, { schema: JSON.stringify(v3) });
    assert.equal(verbose.body.is_compatible, false);
    assert.match(verbose.body.messages[0], /field 'lang' has no default/);
    assert.deepEqual((await call('POST', `${url}/1`, { schema: JSON.stringify(v2) })).body, {
      is_compatible: true,
    });
    assert.deepEqual((await call('POST', `${url}?verbose=true`, { schema: JSON.stringify(v2) })).body, {
      is_compatible: true,
      messages: [],
    });
    assert.equal((await call('POST', `${url}/7`, { schema: JSON.stringify(v2) })).body.error_code, 40402);
  });
});
