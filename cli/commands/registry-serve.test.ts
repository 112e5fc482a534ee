/**
 * `recstream registry serve`: the data dir's registry over Confluent's REST
 * API, keeping its ids across restarts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { finished, runCli, startCli } from '../../test/cli.js';
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

test("registry serve refuses a non-loopback address, which would take anyone's schema writes, before opening anything", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-registry-serve-'));
  try {
    for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
      const child = startCli([
        'registry',
        'serve',
        '--host',
        host,
        '--port',
        '0',
        '--data-dir',
        join(dir, 'data'),
      ]);
      const running = finished(child);
      // A server that did start is stopped, so the test fails instead of waiting on it.
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('listening on') && child.kill('SIGTERM'));
      const run = await running;
      assert.equal(run.code, 1, `${host}: ${run.stdout}${run.stderr}`);
      assert.match(
        run.stderr,
        new RegExp(`refusing to serve the schema registry on --host ${host}: it takes no credentials`),
      );
      assert.match(run.stderr, /--host 127\.0\.0\.1\) or pass --open/);
      assert.equal(existsSync(join(dir, 'data')), false, 'nothing is written to the data dir');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
