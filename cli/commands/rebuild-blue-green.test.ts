/**
 * `recstream rebuild --blue-green` as an operator runs it: alone (this
 * command builds and swaps; with Redis, the online copy follows) and beside
 * a running `recstream process` (that process builds and swaps). Each time:
 * progress is printed, the active pointer flips, the old state dir is gone,
 * and the stores digest as before (features rebuilds byte-identical).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendDeleteTopicsRequest, waitForReplay } from '../../runtime/engine/replay-control.js';
import { testRedis } from '../../runtime/online/redis/redis.fixture.js';
import {
  besideRunningProcess,
  type CliResult,
  finished,
  pathExists,
  runCli,
  runCliOk,
  startCli,
  stateDigests,
} from '../../test/cli.js';
import { withTestPlatform } from '../../test/platform.js';

const ENV = {
  RECSTREAM_COMMIT_INTERVAL_MS: '50',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_REDIS_URL: '',
};

function cli(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return runCliOk(args, { ...ENV, ...env });
}

function digest(dataDir: string): Promise<Record<string, string>> {
  return stateDigests(dataDir, ['features'], ENV);
}

async function active(dataDir: string): Promise<string> {
  return JSON.parse(await readFile(join(dataDir, 'control', 'features', 'active.json'), 'utf8')).namespace;
}

/** The log's topics, as `recstream topics --json` lists them. */
async function topicNames(dataDir: string): Promise<string[]> {
  const { stdout } = await cli(['topics', '--json', '--data-dir', dataDir]);
  return (JSON.parse(stdout) as { topic: string }[]).map((row) => row.topic);
}

async function simulated(root: string): Promise<string> {
  const dataDir = join(root, 'data');
  await cli([
    'simulate',
    '--users',
    '300',
    '--items',
    '100',
    '--events',
    '8000',
    '--seed',
    '7',
    '--data-dir',
    dataDir,
  ]);
  await cli(['process', '--app', 'features', '--once', '--data-dir', dataDir]);
  return dataDir;
}

function startFollower(dataDir: string, env: Record<string, string>) {
  const child = startCli(['materialize', '--data-dir', dataDir], {
    ...ENV,
    ...env,
    RECSTREAM_LOG_LEVEL: 'info',
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  return { child, log: () => log, done: finished(child) };
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

/** One click by `userId`, later than every simulated event, appended to rec.interactions. */
async function appendInteraction(dataDir: string, userId: string, eventId: string): Promise<void> {
  await withTestPlatform(dataDir, async ({ log, serde }) => {
    const encoder = await serde.encoder('rec.interactions-value');
    const ts = Date.UTC(2030, 0, 1);
    const value = encoder.encode({
      event_id: eventId,
      user_id: userId,
      item_id: 'i1',
      type: 'click',
      value: null,
      watch_ms: null,
      ts,
      context: { device: null, country: null, session_id: null, surface: null, request_id: null },
    });
    await log.append('rec.interactions', [{ key: userId, value, timestamp: ts }]);
  });
}

test('rebuild --blue-green alone: progress, pointer flipped, old state gone, same stores; Redis follows', {
  timeout: 180_000,
}, async (t) => {
  // Without Redis the test is marked skipped (failed under CI=true) and checks the rest.
  const redis = await testRedis(t);
  const root = await mkdtemp(join(tmpdir(), 'recstream-bg-alone-'));
  const redisEnv: Record<string, string> =
    redis === undefined ? {} : { RECSTREAM_REDIS_URL: redis.url, RECSTREAM_REDIS_KEY_PREFIX: redis.prefix };
  let usersInRedis = 0;
  try {
    const dataDir = await simulated(root);
    const expected = await digest(dataDir);
    assert.ok(Object.keys(expected).some((s) => s.startsWith('features/user-view/')));
    let follower: { child: ChildProcess; log: () => string; done: Promise<CliResult> } | undefined;
    if (redis !== undefined) {
      await cli(['materialize', '--once', '--data-dir', dataDir], redisEnv);
      usersInRedis = (await redis.keys('default:user:*')).length;
      assert.ok(usersInRedis > 0, 'Redis namespace default filled');
      // The long-running role, on the active namespace, must follow the swap by itself.
      follower = startFollower(dataDir, redisEnv);
      await until(
        () => /"namespace":"default".*"msg":"materialize: copying changelogs/.test(follower!.log()),
        'materializer started',
      );
    }

    const { stdout, stderr } = await cli(
      ['rebuild', '--processor', 'features', '--blue-green', '--namespace', 'g1', '--data-dir', dataDir],
      redisEnv,
    );
    assert.match(
      stdout,
      /features: rebuilt into namespace g1 in [\d.]+ s; active namespace g1 \(was default\)/,
    );
    const lines = stderr.split('\n').filter((l) => l.includes('"msg":"progress"'));
    const last = JSON.parse(lines.filter((l) => l.includes('rebuild features')).at(-1)!);
    assert.ok(last.total >= 8000 && last.done === last.total, stderr);
    assert.ok('eta_s' in last && 'rate_per_s' in last);
    assert.match(
      stdout,
      /features: deleted the topics of namespace default: .*rec\.user-features\.user-view\.changelog.*, rec\.interactions\.enriched\n/,
    );
    const topics = await topicNames(dataDir);
    assert.ok(!topics.includes('rec.interactions.enriched'), 'old internal topic deleted');
    assert.ok(!topics.includes('rec.user-features.user-view.changelog'), 'old changelog deleted');
    assert.ok(topics.includes('rec.interactions.enriched.g1') && topics.includes('rec.interactions'));
    assert.equal(await active(dataDir), 'g1');
    assert.equal(await pathExists(join(dataDir, 'state', 'features')), false, 'old state dir removed');
    assert.equal(await pathExists(join(dataDir, 'state', 'features@g1')), true);
    assert.deepEqual(await digest(dataDir), expected);

    if (redis !== undefined) {
      assert.match(
        stdout,
        /online store \(Redis\): namespace g1 materialized \(\d+ values\) and active; default dropped/,
      );
      assert.deepEqual(await redis.keys('default:*'), []);
      const users = await redis.keys('g1:user:*');
      assert.equal(users.length, usersInRedis, 'every user of the old Redis namespace is in the new one');
      const user = /\{(.+)\}$/.exec(users[0]!)![1]!;
      const got = await cli(['online', 'get', 'user', user, '--data-dir', dataDir], redisEnv);
      assert.ok(got.stdout.startsWith(`{"view":"user","key":"${user}","value":{`), got.stdout);

      // The long-running materializer switched to g1 and keeps it fresh: a new interaction of the
      // user, processed into g1's changelogs, reaches Redis without a restart.
      await until(() => follower!.log().includes('following it'), 'materializer followed the swap');
      assert.match(follower!.log(), /"from":"default","to":"g1"/);
      await appendInteraction(dataDir, user, 'fresh-1');
      await cli(['process', '--app', 'features', '--once', '--data-dir', dataDir]);
      await until(async () => {
        const now = await cli(['online', 'get', 'user', user, '--data-dir', dataDir], redisEnv);
        return now.stdout.includes('"event_id":"fresh-1"');
      }, 'the new interaction in Redis namespace g1');
      follower!.child.kill('SIGTERM');
      const stopped = await follower!.done;
      assert.equal(stopped.code, 0, stopped.stderr);
    }

    // A second rebuild into the active namespace, or into a malformed one, is refused with the reason.
    const again = await runCli(
      ['rebuild', '--processor', 'features', '--blue-green', '--namespace', 'g1', '--data-dir', dataDir],
      ENV,
    );
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /g1 is the active namespace of features/);
    const bad = await runCli(
      ['rebuild', '--processor', 'features', '--blue-green', '--namespace', 'G_1', '--data-dir', dataDir],
      ENV,
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /namespace "G_1" must be/);
  } finally {
    if (redis !== undefined) await redis.cleanup();
    await rm(root, { recursive: true, force: true });
  }
});

test('rebuild --blue-green beside a running `recstream process`: that process builds green, swaps and drops blue', {
  timeout: 180_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-bg-beside-'));
  try {
    const dataDir = await simulated(root);
    const expected = await digest(dataDir);
    await cli([
      'rebuild',
      '--processor',
      'features',
      '--blue-green',
      '--namespace',
      'g1',
      '--data-dir',
      dataDir,
    ]);
    const control = join(dataDir, 'control', 'features');
    const { value, process: result } = await besideRunningProcess(dataDir, 'features', ENV, async () => {
      const rebuilt = await cli([
        'rebuild',
        '--processor',
        'features',
        '--blue-green',
        '--data-dir',
        dataDir,
      ]);
      // The namespace the process runs keeps its topics, whoever asks.
      const running = /into namespace (\S+) beside/.exec(rebuilt.stdout)?.[1];
      const refused = await waitForReplay(control, await sendDeleteTopicsRequest(control, running));
      return { rebuilt, refused };
    });
    const out = value.rebuilt;
    assert.equal(value.refused.state, 'failed');
    assert.match(value.refused.error ?? '', /is the one this process runs; its topics stay/);
    const match =
      /features: rebuilt (\d+) input records into namespace (\S+) beside process \d+; active namespace \2 \(was g1\)/.exec(
        out.stdout,
      );
    assert.ok(match, out.stdout);
    assert.ok(Number(match[1]) >= 8000);
    assert.match(out.stderr, /running in process \d+; asking it to rebuild blue\/green/);
    assert.match(out.stderr, /"msg":"progress","task":"rebuild features → g/);
    assert.match(
      out.stdout,
      /features: deleted the topics of namespace g1: .*rec\.interactions\.enriched\.g1\n/,
    );
    assert.match(result.stderr, /active namespace swapped/);
    assert.match(result.stderr, /blue\/green rebuild finished; old state dropped/);
    assert.match(result.stderr, /"namespace":"g1".*deleted the topics of a retired namespace/);
    const topics = await topicNames(dataDir);
    assert.deepEqual(
      topics.filter((name) => name.includes('.g1')),
      [],
      'the old namespace g1 has no topic left',
    );
    const green = match[2]!;
    assert.ok(topics.includes(`rec.interactions.enriched.${green}`), 'the running namespace kept its topics');
    assert.equal(await active(dataDir), green);
    assert.equal(await pathExists(join(dataDir, 'state', 'features@g1')), false, 'old state dir removed');
    assert.equal(await pathExists(join(dataDir, 'state', `features@${green}`)), true);
    assert.deepEqual(await digest(dataDir), expected);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
