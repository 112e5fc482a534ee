/**
 * `recstream registry serve`: the data dir's registry over Confluent's REST
 * API, keeping its ids across restarts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../test/cli.js';
import { startRegistryServe } from '../../test/registry-serve.js';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const SCHEMA = JSON.stringify({ type: 'record', name: 'Ping', fields: [{ name: 'n', type: 'int' }] });

test('registry serve registers and serves schemas, keeps ids across restarts and stops cleanly on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-registry-serve-'));
  try {
    const first = await startRegistryServe(dir);
    const registered = await fetch(`${first.url}/subjects/ping-value/versions`, {
      method: 'POST',
      headers: { 'content-type': CONTENT_TYPE },
      body: JSON.stringify({ schema: SCHEMA }),
    });
    assert.equal(registered.status, 200);
    const { id } = (await registered.json()) as { id: number };
    assert.equal(await first.stop(), 0);

    const second = await startRegistryServe(dir);
    try {
      const latest = (await (await fetch(`${second.url}/subjects/ping-value/versions/latest`)).json()) as {
        id: number;
        version: number;
        schema: string;
      };
      assert.deepEqual({ id: latest.id, version: latest.version }, { id, version: 1 });
      assert.deepEqual(JSON.parse(latest.schema), JSON.parse(SCHEMA));
      assert.deepEqual(await (await fetch(`${second.url}/subjects`)).json(), ['ping-value']);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('registry serve refuses a port that is not one', async () => {
  const run = await runCli(['registry', 'serve', '--port', 'http']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /--port must be a port number/);
});
