import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConnectionError, SchemaNotFoundError } from '../../errors.js';
import { openEmbeddedRegistry } from '../embedded/embedded-registry.js';
import { registryContract } from '../registry.contract.js';
import type { SchemaRegistry } from '../registry.js';
import { startRegistryServer } from '../server.js';
import { ConfluentSchemaRegistry, openConfluentRegistry } from './confluent-registry.js';

/** The Confluent client against recstream's registry server on a free loopback port. */
async function serve(wrap: (registry: SchemaRegistry) => SchemaRegistry = (r) => r) {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-confluent-'));
  const embedded = await openEmbeddedRegistry({ dataDir: dir });
  const server = await startRegistryServer({ registry: wrap(embedded), host: '127.0.0.1', port: 0 });
  const registry = await openConfluentRegistry({ url: server.url });
  return {
    registry,
    server,
    dispose: async () => {
      await registry.close();
      await server.close();
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

registryContract('confluent client against the registry server', serve);

test('schema texts by id are fetched once', async () => {
  let lookups = 0;
  const counting = (inner: SchemaRegistry): SchemaRegistry =>
    Object.assign(Object.create(inner), {
      getById: (id: number) => {
        lookups++;
        return inner.getById(id);
      },
    });
  const { registry, dispose } = await serve(counting);
  try {
    const id = await registry.register('cache-value', { type: 'record', name: 'C', fields: [] });
    await Promise.all([registry.getById(id), registry.getById(id)]);
    await registry.getById(id);
    assert.equal(lookups, 1);
    await assert.rejects(registry.getById(4040), SchemaNotFoundError);
  } finally {
    await dispose();
  }
});

test('credentials in the URL become basic auth', async () => {
  let authorization: string | undefined;
  const server = createServer((request, response) => {
    authorization = request.headers.authorization;
    response.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
    response.end('[]');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const registry = new ConfluentSchemaRegistry({ url: `http://svc:s%3Acret@127.0.0.1:${port}/` });
    assert.deepEqual(await registry.listSubjects(), []);
    assert.equal(authorization, `Basic ${Buffer.from('svc:s:cret').toString('base64')}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a registry that cannot be reached gives a retriable ConnectionError', async () => {
  const { server, dispose } = await serve();
  const url = server.url;
  await dispose();
  await assert.rejects(openConfluentRegistry({ url, timeoutMs: 2_000 }), (err: unknown) => {
    assert.ok(err instanceof ConnectionError);
    assert.ok(err.retriable);
    assert.match(err.message, /cannot be reached .*ECONNREFUSED/);
    return true;
  });
});
