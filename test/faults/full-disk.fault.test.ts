/**
 * A full disk under the data dir: a 64 MiB tmpfs mounted for the test (the
 * machine runs it as root; CI does), filled to the last byte by a filler file
 * while the platform works on it, then freed.
 *
 * - `recstream serve` taking event batches: while the disk is full, batches
 *   are refused with a 503 naming the full disk (none acknowledged and
 *   lost); once space returns, batches are acknowledged again, and every
 *   acknowledged event is in the log exactly once.
 * - `recstream process --once` on a full disk fails with an error naming
 *   the full disk and exits non-zero; run again once space returns, it ends
 *   with stores equal to a clean run's, byte for byte.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { event } from '../../responders/responder.fixture.js';
import { sleep } from '../../runtime/retry.js';
import { runCli, runCliOk } from '../cli.js';
import { startListening, waitUntil } from '../listening.js';
import { loggedEvents } from '../platform.js';
import { reportFigure } from './figures.js';
import { startLoad } from './load.js';

const ENV = {
  RECSTREAM_PARTITIONS: '4',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_HTTP_PORT: '0',
  RECSTREAM_RATE_LIMIT_PER_S: '0',
};
const WORLD = ['--users', '200', '--items', '80', '--events', '15000', '--days', '2', '--seed', '8'];
const APPS = 'features,interaction-counts';
const BATCH = 20;
const NO_SPACE = /no space left on device/;

/** Writes zeros to `path` until the file system refuses more; returns the bytes written. */
async function fill(path: string): Promise<number> {
  const file = await open(path, 'w');
  const chunk = Buffer.alloc(1 << 20);
  let written = 0;
  try {
    for (;;) {
      const { bytesWritten } = await file.write(chunk, 0, chunk.length);
      written += bytesWritten;
      if (bytesWritten < chunk.length) break;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  // The last bytes, smaller than a chunk.
  for (let size = 1 << 19; size >= 1; size >>= 1)
    try {
      for (;;) written += (await file.write(chunk, 0, size)).bytesWritten;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    }
  await file.close();
  return written;
}

async function digest(dataDir: string): Promise<string> {
  return JSON.parse((await runCliOk(['state', 'digest', '--json', '--data-dir', dataDir], ENV)).stdout).all;
}

test('a full disk under the data dir: clear errors, nothing acknowledged lost, no corrupt store, recovery once space returns', {
  timeout: 600_000,
}, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-full-disk-'));
  const disk = join(root, 'disk');
  await mkdir(disk);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', disk], { stdio: 'pipe' });
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    const why = `cannot mount a small tmpfs here (${(err as Error).message.split('\n')[0]}); run as root`;
    if (process.env.CI === 'true') throw new Error(why);
    return t.skip(why);
  }
  const filler = join(disk, 'filler');
  try {
    // Processing on a full disk.
    const clean = join(root, 'clean');
    const full = join(disk, 'process');
    for (const dir of [clean, full]) await runCliOk(['simulate', ...WORLD, '--data-dir', dir], ENV);
    await runCliOk(['process', '--once', '--app', APPS, '--data-dir', clean], ENV);
    const filled = await fill(filler);
    const failed = await runCli(['process', '--once', '--app', APPS, '--data-dir', full], ENV);
    assert.notEqual(failed.code, 0, 'processing on a full disk succeeded');
    assert.match(failed.stderr, NO_SPACE);
    await unlink(filler);
    await runCliOk(['process', '--once', '--app', APPS, '--data-dir', full], ENV);
    assert.equal(await digest(full), await digest(clean), 'stores equal a clean run once space returned');
    await rm(full, { recursive: true, force: true });

    // Ingest on a full disk, under load.
    const served = join(disk, 'serve');
    const server = await startListening(['serve', '--data-dir', served], ENV);
    await waitUntil('serve is ready', async () => (await fetch(`${server.url}/readyz`)).status === 200);
    const batches = new Map<number, string[]>();
    const load = startLoad(4, (n) => {
      const batch = Array.from({ length: BATCH }, (_, i) =>
        event(n * BATCH + i, { event_id: `disk-${n}-${i}` }),
      );
      batches.set(
        n,
        batch.map((e) => e.event_id as string),
      );
      return {
        url: `${server.url}/v1/events`,
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batch),
        },
      };
    });
    await sleep(1500);
    const fullAt = Date.now() - load.startedAt;
    await fill(filler);
    const refusedWhileFull = () =>
      load.outcomes.filter(
        (o) => o.sentAt >= fullAt && o.status === 503 && NO_SPACE.test(JSON.stringify(o.body)),
      );
    await waitUntil('a batch refused for the full disk', async () => refusedWhileFull().length > 0);
    await sleep(1500);
    await unlink(filler);
    const freedAt = Date.now() - load.startedAt;
    await waitUntil('a batch acknowledged after space returned', async () =>
      load.outcomes.some((o) => o.sentAt > freedAt && o.status === 202),
    );
    const recoveredAt = load.outcomes.find((o) => o.sentAt > freedAt && o.status === 202)!.doneAt;
    const outcomes = await load.stop();
    server.child.kill('SIGTERM');
    const exit = await server.exit;
    assert.equal(exit.code, 0, exit.stderr);

    const unexpected = outcomes.filter((o) => o.status !== 202 && !(o.status === 503 && o.sentAt >= fullAt));
    assert.deepEqual(
      unexpected.map((o) => o.error ?? `${o.status} ${JSON.stringify(o.body)}`),
      [],
      'answers other than 202, or 503 while the disk was full',
    );
    const logged = await loggedEvents(served);
    const acked = outcomes.filter((o) => o.status === 202).flatMap((o) => batches.get(o.n)!);
    assert.deepEqual(
      acked.filter((id) => logged.get(id) !== 1),
      [],
      'acknowledged events missing or stored twice',
    );
    reportFigure(t, 'full-disk', {
      filesystem_bytes: 64 * 1024 * 1024,
      filler_bytes: filled,
      process_on_full_disk_exit: failed.code ?? -1,
      digest_equal_after_space_returned: true,
      ingest_requests: outcomes.length,
      events_acknowledged: acked.length,
      refused_503_no_space: outcomes.filter((o) => o.status === 503).length,
      acknowledged_lost: 0,
      ingest_recovery_after_space_ms: recoveredAt - freedAt,
    });
  } finally {
    await unlink(filler).catch(() => undefined);
    execFileSync('umount', ['-l', disk]);
    await rm(root, { recursive: true, force: true });
  }
});
