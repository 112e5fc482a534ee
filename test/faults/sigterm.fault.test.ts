/**
 * SIGTERM under load for every long-running role, as an orchestrator stops a
 * pod: the command drains what it has in hand, commits, and exits 0, and a
 * restart continues from what was committed.
 *
 * - `serve` and `up`: clients post event batches and ask for recommendations
 *   without pause; every request the server took is answered (no connection
 *   cut mid-request, no 5xx), and every acknowledged event is in
 *   rec.interactions exactly once.
 * - `process`: stopped in the middle of its backlog, then `process --once`:
 *   the stores equal a clean run's, byte for byte (nothing lost, nothing
 *   counted twice).
 * - `train`: stopped in the middle of a training round, which then publishes
 *   nothing; `train --once` makes exactly one version, promoted.
 * - `index`: stopped while it follows the model versions; `index --once`
 *   then finds the index there (or builds it).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { event } from '../../responders/responder.fixture.js';
import { sleep } from '../../runtime/retry.js';
import { finished, runCliOk, startCli } from '../cli.js';
import { countedInteractions } from '../interaction-counts.js';
import { startListening, waitUntil } from '../listening.js';
import { loggedEvents } from '../platform.js';
import { buildSnapshottedWorld, SERVED_WORLD_ENV } from '../served-world.js';
import { reportFigure } from './figures.js';
import { type Outcome, startLoad } from './load.js';

const ENV = { ...SERVED_WORLD_ENV, RECSTREAM_HTTP_PORT: '0', RECSTREAM_RATE_LIMIT_PER_S: '0' };
const BATCH = 20;

/**
 * Posts batches and asks for lists against the role at `args` until it has
 * been sent SIGTERM and exited; checks what every request got.
 */
async function stopServingUnderLoad(t: TestContext, role: 'serve' | 'up', dataDir: string): Promise<void> {
  const server = await startListening([role, '--data-dir', dataDir], ENV);
  await waitUntil(
    `${role} is ready`,
    async () => (await fetch(`${server.url}/readyz`)).status === 200,
    240_000,
  );
  const batches = new Map<number, string[]>();
  const load = startLoad(6, (n) => {
    if (n % 2 === 0) return { url: `${server.url}/v1/recommendations/u${n % 300}?k=10` };
    const batch = Array.from({ length: BATCH }, (_, i) =>
      event(n * BATCH + i, { event_id: `${role}-${n}-${i}` }),
    );
    batches.set(
      n,
      batch.map((e) => e.event_id as string),
    );
    return {
      url: `${server.url}/v1/events`,
      init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) },
    };
  });
  await sleep(3000);
  server.child.kill('SIGTERM');
  const exit = await server.exit;
  const outcomes = await load.stop();
  assert.equal(exit.code, 0, exit.stderr);

  const logged = await loggedEvents(dataDir);
  // Refused at the door once the listener closed: never taken.
  const refused = (o: Outcome) => o.error === 'ECONNREFUSED';
  // Sent on a keep-alive connection while the server was closing: fastify answers 503 with
  // `Connection: close` before any route runs.
  const closing = (o: Outcome) =>
    o.status === 503 && (o.body as { message?: string; code?: string })?.message === 'Service Unavailable';
  // Written on a keep-alive connection as the server closed it idle: the server never read it. A
  // batch cut this way must be absent from the log, or a processed request lost its answer.
  const reset = (o: Outcome) =>
    o.error === 'ECONNRESET' || o.error === 'UND_ERR_SOCKET' || o.error === 'EPIPE';
  const stored = (o: Outcome) => batches.get(o.n)?.some((id) => logged.has(id)) ?? false;
  const failed = outcomes.filter(
    (o) =>
      (reset(o) && stored(o)) ||
      (!refused(o) && !closing(o) && !reset(o) && (o.status === undefined || o.status >= 500)),
  );
  assert.deepEqual(
    failed.map((o) => o.error ?? `${o.status} ${JSON.stringify(o.body)}`),
    [],
    'requests cut or failed in flight',
  );
  const answered = outcomes.filter((o) => o.status !== undefined);
  assert.ok(answered.length > 0);
  // Lists from the trained model, not popularity: the role under signal is the one serving for real.
  const personalised = outcomes.filter((o) => {
    const body = o.body as { model_version?: string | null; fallback?: string | null } | undefined;
    return o.status === 200 && typeof body?.model_version === 'string' && body.fallback === null;
  });
  assert.ok(personalised.length > 0, 'no list came from the trained model');
  const acked = outcomes.filter((o) => o.status === 202).flatMap((o) => batches.get(o.n)!);
  assert.ok(acked.length > 0, 'no batch was acknowledged');
  assert.deepEqual(
    acked.filter((id) => logged.get(id) !== 1),
    [],
    'acknowledged events missing or stored twice',
  );
  assert.deepEqual(
    [...logged].filter(([, count]) => count > 1),
    [],
    'events stored twice',
  );
  reportFigure(t, `sigterm-${role}`, {
    requests: outcomes.length,
    answered: answered.length,
    personalised: personalised.length,
    events_acknowledged: acked.length,
    refused_after_close: outcomes.filter(refused).length,
    refused_while_closing_503: outcomes.filter(closing).length,
    reset_unread: outcomes.filter(reset).length,
    failed_in_flight: failed.length,
    exit_code: exit.code ?? -1,
  });
}

/** Logging at info, so a role says when it has started. */
const INFO = { ...ENV, RECSTREAM_LOG_LEVEL: 'info' };

/**
 * Resolves once the role has logged its first line: its signal handlers are
 * in place (a signal during Node's start-up ends it before any work starts).
 */
function startedWork(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const onData = (d: Buffer) => {
      if (d.toString().includes('{')) {
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
  });
}

/** Records in the changelogs of `app`, read beside the running process. */
async function changelogRecords(dataDir: string, app: string, env: Record<string, string>): Promise<number> {
  const { stdout } = await runCliOk(['topics', '--json', '--data-dir', dataDir], env);
  return (JSON.parse(stdout) as { topic: string; records: number }[])
    .filter((t) => t.topic.startsWith(`rec.${app}.`) && t.topic.endsWith('.changelog'))
    .reduce((n, t) => n + t.records, 0);
}

async function digest(dataDir: string, env: Record<string, string>): Promise<string> {
  return JSON.parse((await runCliOk(['state', 'digest', '--json', '--data-dir', dataDir], env)).stdout).all;
}

async function modelVersions(dataDir: string): Promise<{ version: number; status: string }[]> {
  return JSON.parse((await runCliOk(['models', 'list', '--json', '--data-dir', dataDir], ENV)).stdout);
}

test('SIGTERM under load, every role: drains, commits, exits 0, and a restart continues', {
  timeout: 900_000,
}, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-sigterm-'));
  const world = join(root, 'world');
  const stage = async (name: string) => {
    const dir = join(root, name);
    await cp(world, dir, { recursive: true });
    return dir;
  };
  try {
    await t.test('process: stopped mid-backlog, then --once: stores equal a clean run', async (t) => {
      const env = {
        RECSTREAM_PARTITIONS: '4',
        RECSTREAM_LOG_FSYNC: 'never',
        RECSTREAM_COMMIT_INTERVAL_MS: '200',
      };
      const apps = 'features,interaction-counts';
      const args = ['--users', '500', '--items', '200', '--events', '60000', '--days', '3', '--seed', '4'];
      const [clean, stopped] = [join(root, 'process-clean'), join(root, 'process-stopped')];
      for (const dir of [clean, stopped]) await runCliOk(['simulate', ...args, '--data-dir', dir], env);
      await runCliOk(['process', '--once', '--app', apps, '--data-dir', clean], env);
      const child = startCli(['process', '--app', apps, '--data-dir', stopped], env);
      const done = finished(child);
      await waitUntil(
        'the process committed',
        async () => (await changelogRecords(stopped, 'interaction-counts', env)) > 0,
      );
      child.kill('SIGTERM');
      const exit = await done;
      assert.equal(exit.code, 0, exit.stderr);
      const committed = await countedInteractions(stopped, 4);
      assert.ok(committed < 60_000, 'the signal came after the backlog was done');
      await runCliOk(['process', '--once', '--app', apps, '--data-dir', stopped], env);
      assert.equal(await countedInteractions(stopped, 4), 60_000, 'every event counted once');
      assert.equal(await digest(stopped, env), await digest(clean, env), 'stores equal a clean run');
      reportFigure(t, 'sigterm-process', {
        events: 60_000,
        committed_at_signal: committed,
        exit_code: 0,
        digest_equal: true,
      });
    });

    // Artifact URIs are absolute and read only under their own data dir's
    // artifacts, so a copy made after training could not load its models:
    // one copy goes through train, index and serve; the world itself, trained
    // and indexed apart, serves `up`.
    await buildSnapshottedWorld(world, SERVED_WORLD_ENV);
    const untrained = await stage('train');
    await t.test('train: stopped mid-round, then --once: one version, promoted', async (t) => {
      const child = startCli(['train', '--data-dir', untrained], INFO);
      const done = finished(child);
      await startedWork(child);
      child.kill('SIGTERM');
      const exit = await done;
      assert.equal(exit.code, 0, exit.stderr);
      assert.doesNotMatch(exit.stdout, /recstream@1/, 'the round ended before the signal');
      assert.deepEqual(await modelVersions(untrained), [], 'a version left by the stopped round');
      await runCliOk(['train', '--once', '--data-dir', untrained], ENV);
      const versions = await modelVersions(untrained);
      assert.deepEqual(
        versions.map((v) => [v.version, v.status]),
        [[1, 'promoted']],
      );
      reportFigure(t, 'sigterm-train', { exit_code: 0, versions_after_restart: versions.length });
    });

    const unindexed = untrained;
    await t.test(
      'index: stopped while it follows the model versions, then --once: the index is there',
      async (t) => {
        const child = startCli(['index', '--data-dir', unindexed], INFO);
        const done = finished(child);
        await startedWork(child);
        child.kill('SIGTERM');
        const exit = await done;
        assert.equal(exit.code, 0, exit.stderr);
        const again = await runCliOk(['index', '--once', '--data-dir', unindexed], ENV);
        reportFigure(t, 'sigterm-index', { exit_code: 0, restart: again.stdout.trim().slice(0, 80) });
      },
    );

    await runCliOk(['train', '--once', '--data-dir', world], ENV);
    await runCliOk(['index', '--once', '--data-dir', world], ENV);
    const serving = unindexed;
    const all = world;
    await t.test('serve: every request taken is answered, acknowledged events stored once', async (t) => {
      await stopServingUnderLoad(t, 'serve', serving);
    });
    await t.test('up: every request taken is answered, acknowledged events stored once', async (t) => {
      await stopServingUnderLoad(t, 'up', all);
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
