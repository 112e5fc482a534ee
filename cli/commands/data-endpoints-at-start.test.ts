/**
 * `recstream up` and `recstream serve` on a non-loopback address without
 * credentials are refused when they start, before any role, store or
 * processor application: the data dir is not even created.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { finished, startCli } from '../../test/cli.js';

for (const command of ['up', 'serve']) {
  test(`recstream ${command} refuses open data endpoints on 0.0.0.0 before it starts anything`, async () => {
    const root = await mkdtemp(join(tmpdir(), `recstream-${command}-exposed-`));
    const dataDir = join(root, 'data');
    try {
      const child = startCli([command, '--data-dir', dataDir], {
        RECSTREAM_HTTP_HOST: '0.0.0.0',
        RECSTREAM_HTTP_PORT: '0',
      });
      const running = finished(child);
      // A regression that does start serves on every interface: stop it, and let the test fail.
      child.stdout?.on(
        'data',
        (d: Buffer) => /listening on|serving on/.test(d.toString()) && child.kill('SIGTERM'),
      );
      const run = await running;
      assert.equal(run.code, 1, `${run.stdout}${run.stderr}`);
      assert.match(run.stderr, /refusing to listen on 0\.0\.0\.0 .*RECSTREAM_DATA_ENDPOINTS_OPEN=true/);
      assert.equal(existsSync(dataDir), false, `nothing was started: no data dir\n${run.stderr}`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
}
