/**
 * `recstream demo` as a person runs it first, on a shortened world and
 * schedule (short label window and snapshots, a retrain at most every
 * 20 s): a child process on a fresh data dir streams the world's history,
 * its first model is promoted and serves u0; the same world then goes on
 * live, the processors' inputs keep growing, and the trainer retrains on
 * snapshots closed after the first model; a promoted retrain is what the
 * responder then serves. Ctrl-C stops it cleanly. Run again on that data
 * dir, it resumes: the live stream goes on after what is already there,
 * without streaming the history again.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withPlatform } from '../../app/platform.js';
import { ModelRegistry } from '../../registry/model-registry.js';
import type { ConsoleStatus } from '../../responders/routes/status.js';
import { loadConfig } from '../../runtime/config.js';
import { finished, runCli, startCli } from '../../test/cli.js';
import { readSnapshots } from '../../trainer/training-set.js';

/** The demo's schedule, shortened: live impressions become examples within seconds, snapshots are small. */
const SHORT_SCHEDULE = {
  RECSTREAM_HTTP_PORT: '0',
  RECSTREAM_FEATURE_LATENESS_MS: '10000',
  RECSTREAM_LABEL_WINDOW_MS: '30000',
  RECSTREAM_WATERMARK_INTERVAL_MS: '5000',
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '100',
  RECSTREAM_TRAIN_MIN_NEW_EXAMPLES: '200',
  RECSTREAM_TRAIN_MIN_INTERVAL_MS: '20000',
  // The gate is not what this test is about: on this short world (600 users × 120 items) the
  // first model's holdout recall has landed from 21 % below popularity's to above it from run to
  // run; the default demo's world gives it a clear lead (README).
  RECSTREAM_GATE_POPULARITY_MARGIN: '0.3',
};
const HISTORY = 60_000;

async function interactionsIn(data: string): Promise<number> {
  const run = await runCli(['topics', '--json', '--data-dir', data]);
  assert.equal(run.code, 0, run.stderr);
  const topics = JSON.parse(run.stdout) as { topic: string; records: number }[];
  return topics.find((t) => t.topic === 'rec.interactions')?.records ?? 0;
}

interface Served {
  readonly child: ChildProcess;
  stdout(): string;
  readonly url: string;
  readonly done: ReturnType<typeof finished>;
}

/** Polls `ok` until it holds; `what` (or what it returns once time is up) names what never came. */
async function until(
  what: string | (() => string),
  ok: () => boolean | Promise<boolean>,
  ms: number,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Starts the demo and waits until it says it serves. */
async function demoUntilServing(args: readonly string[]): Promise<Served> {
  const child = startCli(['demo', ...args], SHORT_SCHEDULE);
  const done = finished(child);
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  try {
    await until(
      'the demo to serve',
      () => stdout.includes('Ctrl-C stops') || child.exitCode !== null,
      150_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const url = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
  if (url === undefined) {
    child.kill('SIGKILL');
    assert.fail(`${stdout}\n${(await done).stderr.slice(-4000)}`);
  }
  return { child, stdout: () => stdout, url, done };
}

async function listFor(url: string, user: string) {
  const res = await fetch(`${url}/v1/recommendations/${user}?k=5`);
  assert.equal(res.status, 200);
  return (await res.json()) as {
    user_id: string;
    items: unknown[];
    model_version: string | null;
    fallback: string | null;
    experiment_id: string | null;
    variant: string | null;
  };
}

async function statusOf(url: string): Promise<ConsoleStatus> {
  return (await (await fetch(`${url}/v1/status`)).json()) as ConsoleStatus;
}

function recordsIn(status: ConsoleStatus, application: string): number {
  return status.applications.find((a) => a.application === application)?.records_in ?? 0;
}

test('recstream demo streams a history, serves its first model, goes on live and retrains on new snapshots; a second run resumes the live stream', {
  timeout: 400_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-demo-cli-'));
  const children: ChildProcess[] = [];
  try {
    const data = join(dir, 'data');
    // The default world, shortened: dense enough that the first model is promoted.
    const first = await demoUntilServing([
      '--events',
      String(HISTORY),
      '--users',
      '600',
      '--items',
      '120',
      '--rate',
      '20',
      '--data-dir',
      data,
    ]);
    children.push(first.child);
    assert.match(first.stdout(), /recstream v1 promoted/);
    assert.match(first.stdout(), /u0's recommendations from the responder \(recstream@1 with items@1\)/);
    assert.match(first.stdout(), new RegExp(`curl '${first.url}/v1/recommendations/u1\\?k=5'`));
    // No credentials configured, on 127.0.0.1: the data endpoints are open, and the demo says so.
    assert.match(
      first.stdout(),
      /GET \/v1\/recommendations\/:userId, POST \/v1\/events and GET \/v1\/users\/:userId\/history are open to anyone on this host/,
    );
    const u0 = await listFor(first.url, 'u0');
    assert.equal(u0.user_id, 'u0');
    assert.equal(u0.items.length, 5);
    assert.equal(u0.fallback, null, 'personalised');
    assert.match(u0.model_version ?? '', /^recstream@\d+$/);

    // Live: the log and every processor's input keep growing after the history.
    const before = await statusOf(first.url);
    await until(
      'live events through the processors',
      async () => {
        const now = await statusOf(first.url);
        return (
          now.log.interactions > before.log.interactions &&
          recordsIn(now, 'interaction-counts') > recordsIn(before, 'interaction-counts') &&
          recordsIn(now, 'snapshots') > recordsIn(before, 'snapshots')
        );
      },
      60_000,
    );
    assert.ok(before.log.interactions >= HISTORY);

    // A retrain on new snapshots: promoted (then served) or rejected with its reason.
    await until(
      'a second model version',
      () => /recstream v2 (promoted|rejected)/.test(first.stdout()),
      150_000,
    );
    // Its promoted v1 is compared with, or legitimately not (it trained on every holdout event): never uncompared.
    assert.doesNotMatch(first.stdout(), /comparison cannot run/);
    // The first two versions are A/B tested, half the users each (the closed-loop users make
    // their lists); a user in v2's half is served recstream@2. Users with no history yet get
    // the cold-start list, which no model makes, in either half: only personalised lists count.
    if (/recstream v2 promoted/.test(first.stdout())) {
      await until('the A/B test to start', () => /A\/B test demo-ab started/.test(first.stdout()), 30_000);
      let lastServed = 'no list yet';
      await until(
        () => `the responder to serve recstream@2 to a user in its variant; last served ${lastServed}`,
        async () => {
          for (let user = 0; user < 40; user++) {
            const list = await listFor(first.url, `u${user}`);
            lastServed = `u${user}: ${JSON.stringify({ ...list, items: list.items.length })}`;
            if (list.experiment_id === 'demo-ab' && list.variant === 'v2' && list.fallback === null)
              return list.model_version === 'recstream@2';
          }
          return false;
        },
        // Two pairs load here (v2 promoted, v1 for its variant), paced behind live requests.
        120_000,
      );
    } else {
      assert.match(first.stdout(), /recstream v2 rejected: \S+/);
      await until(
        'the demo to say why there is no A/B test',
        () => /no A\/B test: /.test(first.stdout()),
        30_000,
      );
    }

    // Snapshots go on closing on live examples, after the history's last event: one of live examples
    // only needs a snapshot's worth of them past the history's tail, however fast v2 came.
    const world = JSON.parse(await readFile(join(data, 'demo-world.json'), 'utf8')) as { start: number };
    const historyEnd = world.start + 28 * 86_400_000;
    const config = loadConfig({ RECSTREAM_LOG_LEVEL: 'warn' }, { dataDir: data });
    const liveOnlySnapshot = () =>
      withPlatform(
        config,
        async ({ log, serde }) =>
          (await readSnapshots(log, serde)).some((s) => (s.event_time_start ?? 0) > historyEnd),
        { readOnly: true },
      );
    await until('a snapshot of live examples only', liveOnlySnapshot, 120_000);
    first.child.kill('SIGINT');
    const run = await first.done;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /users u0…u599, items i0…i119/);
    const counts = /u0's interaction counts: (.*)/.exec(run.stdout);
    assert.ok(counts, run.stdout);
    assert.ok(JSON.parse(counts[1]!).total > 0, 'u0 is an active user');
    const progress = run.stderr
      .split('\n')
      .filter((line) => line.includes('"msg":"progress","task":"demo"'))
      .map((line) => JSON.parse(line) as { done: number; total: number; rate_per_s: number });
    assert.ok(progress.length > 0, run.stderr);
    // The line counts what the processors committed: it ends at the history's size, never past it.
    assert.ok(progress.every((p) => p.done <= p.total));
    assert.equal(progress.at(-1)!.done, progress.at(-1)!.total);
    assert.match(
      run.stderr,
      /"msg":"status","task":"live","events\/s":\d+,"lag":\d+,"model":"recstream@\d+","requests":\d+/,
    );

    // v1's round read every snapshot closed by then: the ones v2 has and v1 has not closed after it.
    await withPlatform(
      config,
      async ({ log, serde }) => {
        const versions = (await ModelRegistry.load(log, serde)).versions(config.modelName);
        const [v1, v2] = versions;
        assert.ok(v1 && v2, 'two model versions');
        assert.equal(v1.status, 'promoted');
        assert.ok(v2.reason, 'v2 says why it was promoted or rejected');
        const trainedOn = (v: typeof v1) => (v.params.snapshots ?? '').split(',');
        const newer = trainedOn(v2).filter((id) => !trainedOn(v1).includes(id));
        assert.ok(newer.length > 0, 'v2 was trained on snapshots closed after v1 was');
        for (const id of trainedOn(v1)) assert.ok(trainedOn(v2).includes(id), `v2 keeps v1's ${id}`);
      },
      { readOnly: true },
    );

    const written = await interactionsIn(data);
    const second = await demoUntilServing(['--data-dir', data]);
    children.push(second.child);
    assert.match(second.stdout(), /resuming the demo in .*: its world goes on live after/);
    assert.doesNotMatch(second.stdout(), /training the first model/);
    assert.equal((await listFor(second.url, 'u0')).fallback, null);
    await until(
      'the live stream to go on',
      async () => (await statusOf(second.url)).log.interactions > written,
      60_000,
    );
    second.child.kill('SIGINT');
    assert.equal((await second.done).code, 0);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
