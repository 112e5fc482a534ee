/**
 * Processing spread over two `recstream process --instance I/2` processes on
 * Kafka (go-mokapi and `recstream registry serve` on loopback): instance 1 is
 * killed with SIGKILL in the middle of its backlog and restarted with its
 * state dir removed, so it restores its partitions from the changelog topics. The
 * stores, digested from a third, empty data dir (every partition restored
 * from the changelogs), equal a single instance's on the embedded log, which
 * the end-to-end test shows equal to a single instance's on Kafka.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KafkaLog } from '../../runtime/log/kafka/kafka-log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { sleep } from '../../runtime/retry.js';
import { finished, pathExists, runCliOk, startCli, stateDigests } from '../../test/cli.js';
import {
  PIPELINE_APPS,
  PIPELINE_SETTINGS,
  planAndSimulate,
  singleInstanceDigests,
  startKafkaPlatform,
} from '../../test/kafka-pipeline.js';
import { missingService } from '../../test/skips.js';

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

/** A long-running `process --instance` on `data`, once every application announced itself. */
async function startInstance(
  instance: string,
  data: string,
  env: Record<string, string>,
): Promise<ChildProcess> {
  const child = startCli(
    ['process', '--app', PIPELINE_APPS.join(','), '--instance', instance, '--data-dir', data],
    env,
  );
  const exited = finished(child);
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(`instance ${instance} runs`, async () => {
    if (gone) throw new Error(`instance ${instance} exited: ${(await exited).stderr}`);
    for (const app of PIPELINE_APPS)
      if (!(await pathExists(join(data, 'control', app, 'runner.json')))) return false;
    return true;
  });
  return child;
}

/** SIGTERM, then a clean exit within a minute; one that does not exit is killed and fails the test with its stderr. */
async function stop(child: ChildProcess): Promise<void> {
  const done = finished(child);
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const result = await done.finally(() => clearTimeout(kill));
  assert.equal(result.code, 0, `exit ${result.code}, signal ${result.signal}: ${result.stderr.slice(-4000)}`);
}

test('two --instance processes, one killed and restarted on an empty disk, leave a single instance’s stores', {
  timeout: 240_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-instances-'));
  try {
    const platform = await startKafkaPlatform(dir);
    if (typeof platform === 'string') return missingService(t, platform);
    const env = { ...platform.env, ...PIPELINE_SETTINGS };
    const [a, b, fresh] = [join(dir, 'a'), join(dir, 'b'), join(dir, 'fresh')];
    const log = new KafkaLog({ brokers: platform.brokers, logger: silentLogger(), idempotent: false });
    try {
      // Written before the instances start: go-mokapi can hand a fetch a partition it is appending to
      // half-written (kafkajs then fails with "Invalid array length"), which a real broker never does.
      await planAndSimulate(join(dir, 'producer'), env);
      // Commits a second apart and never early on idle input, so the kill below falls between two
      // commits: a kill inside one (between the changelog appends of its stores) together with a lost
      // disk leaves changelogs that disagree, which needs a reset (docs/runbooks.md, "Lost disk"), not a
      // restore.
      const instanceEnv = { ...env, RECSTREAM_COMMIT_INTERVAL_MS: '1000', RECSTREAM_COMMIT_IDLE_MS: '0' };
      const first = await startInstance('0/2', a, instanceEnv);
      let second = await startInstance('1/2', b, instanceEnv);
      // Instance 1 dies once its first commit reached every changelog of the applications it runs, in
      // the middle of its backlog.
      const changelogs = platform.topics
        .map((topic) => topic.name)
        .filter(
          (name) =>
            name.endsWith('.changelog') &&
            !name.startsWith('rec.snapshotter.') &&
            !name.startsWith('rec.experiment-') &&
            !name.startsWith('rec.co-visitation'),
        );
      await waitFor('instance 1 committed every store', async () => {
        for (const changelog of changelogs)
          if (!(await log.offsets(changelog)).some((o) => o.partition % 2 === 1 && o.end > 0)) return false;
        return true;
      });
      const killed = finished(second);
      second.kill('SIGKILL');
      assert.equal((await killed).signal, 'SIGKILL');
      await rm(join(b, 'state'), { recursive: true, force: true });
      second = await startInstance('1/2', b, instanceEnv);
      await sleep(3000);
      await stop(first);
      await stop(second);
      // Item features of one instance read what user features of both wrote: a last pass each settles it.
      for (const [instance, data] of [
        ['0/2', a],
        ['1/2', b],
        ['0/2', a],
      ] as const)
        await runCliOk(
          ['process', '--once', '--app', PIPELINE_APPS.join(','), '--instance', instance, '--data-dir', data],
          env,
        );
      const spread = await stateDigests(fresh, PIPELINE_APPS, env);
      const single = await singleInstanceDigests(join(dir, 'embedded'), PIPELINE_SETTINGS);
      assert.equal(Object.keys(spread).length, Object.keys(single).length);
      assert.deepEqual(spread, single);
    } finally {
      await log.close();
      await platform.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
