import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfluentSchemaRegistry } from './confluent/confluent-registry.js';
import { EmbeddedSchemaRegistry } from './embedded/embedded-registry.js';
import { openSchemaRegistry } from './open.js';
import { startRegistryServer } from './server.js';

test('no URL opens the embedded registry, a URL the Confluent client', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-open-'));
  try {
    const embedded = await openSchemaRegistry({ dataDir: dir, url: '' });
    assert.ok(embedded instanceof EmbeddedSchemaRegistry);
    const server = await startRegistryServer({ registry: embedded, port: 0 });
    try {
      const client = await openSchemaRegistry({ dataDir: dir, url: server.url });
      assert.ok(client instanceof ConfluentSchemaRegistry);
      const id = await client.register('open-value', { type: 'record', name: 'O', fields: [] });
      assert.equal((await embedded.getLatest('open-value')).id, id);
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
