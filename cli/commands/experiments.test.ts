/**
 * `recstream experiments start | stop | list | show` and `models promote
 * --canary` as an operator runs them, on a data dir whose model has v1
 * promoted and v2 candidate: what they print, what they publish, and the
 * refusals that exit 2 naming the field; and the commands that append,
 * run beside a `recstream process` that holds the embedded log.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { publishModelVersions } from '../../registry/model-registry.js';
import { FileArtifactStore } from '../../registry/model-store.js';
import type { Experiment, ModelVersion } from '../../schemas/generated/types.js';
import { besideRunningProcess, pathExists, runCli, runCliOk } from '../../test/cli.js';
import { withTestPlatform } from '../../test/platform.js';

const ENV = { RECSTREAM_LOG_FSYNC: 'never' };
let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'recstream-experiments-cli-'));
  const store = new FileArtifactStore(join(dataDir, 'artifacts'));
  const versions: ModelVersion[] = [];
  for (const [version, status] of [
    [1, 'promoted'],
    [2, 'candidate'],
  ] as const) {
    const source = join(dataDir, `trained-v${version}`);
    await mkdir(source);
    await writeFile(join(source, 'model.onnx'), `weights of v${version}`);
    versions.push({
      model: 'recstream',
      version,
      snapshot_id: `set-${version}`,
      lineage: [],
      created_ts: version,
      artifacts: await store.put('models', 'recstream', version, source),
      metrics: {},
      status,
      status_ts: version,
      reason: null,
      parent_version: null,
      engine: 'test',
      device: 'cpu',
      params: {},
    });
  }
  await withTestPlatform(dataDir, (platform) => publishModelVersions(platform, versions), ENV);
});

after(() => rm(dataDir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli([...args, '--data-dir', dataDir], ENV);
const cliOk = (...args: string[]) => runCliOk([...args, '--data-dir', dataDir], ENV);

async function file(name: string, json: unknown): Promise<string> {
  const path = join(dataDir, name);
  await writeFile(path, typeof json === 'string' ? json : JSON.stringify(json));
  return path;
}

const AB = {
  id: 'ranker-ab',
  description: 'v2 against the promoted model',
  salt: 'ab-1',
  traffic_start: 0.5,
  variants: [
    { name: 'control', model: 'promoted', share: 0.5 },
    { name: 'candidate', model: 'recstream@2', share: 0.5 },
  ],
};

test('start, list, show, stop: the experiment by events, in a table and as JSON', async () => {
  const started = await cliOk('experiments', 'start', await file('ab.json', AB));
  assert.match(started.stdout, /experiment ranker-ab running/);

  const list = await cliOk('experiments', 'list');
  assert.match(list.stdout, /^id\s+status\s+variants\s+traffic\s+created/m);
  assert.match(
    list.stdout,
    /ranker-ab\s+running\s+control promoted 50% · candidate recstream@2 50%\s+\[0\.5, 1\)/,
  );
  const records = JSON.parse((await cliOk('experiments', 'list', '--json')).stdout) as Experiment[];
  assert.deepEqual(
    records.map((e) => [e.id, e.status, e.salt, e.traffic_start]),
    [['ranker-ab', 'running', 'ab-1', 0.5]],
  );

  const show = await cliOk('experiments', 'show', 'ranker-ab');
  assert.match(show.stdout, /^ranker-ab {2}running/);
  assert.match(
    show.stdout,
    /^variant\s+model\s+share\s+requests\s+impressions\s+clicks\s+ctr \[interval\]\s+engaged s\/req\s+fallback\s+p99 ms\s+verdict$/m,
  );
  assert.match(show.stdout, /^candidate\s+recstream@2\s+50%\s+-/m);
  assert.match(show.stdout, /^no figures: experiment-metrics has not run here yet/m);
  const shown = JSON.parse((await cliOk('experiments', 'show', 'ranker-ab', '--json')).stdout);
  assert.deepEqual(shown.experiment, records[0]);

  const again = await cli('experiments', 'start', await file('ab.json', AB));
  assert.equal(again.code, 2);
  assert.match(again.stderr, /experiments start: id: experiment ranker-ab is running/);

  const stopped = await cliOk('experiments', 'stop', 'ranker-ab', '--reason', 'enough data');
  assert.match(stopped.stdout, /ranker-ab stopped \(enough data\)/);
  const after = JSON.parse((await cliOk('experiments', 'list', '--json')).stdout) as Experiment[];
  assert.equal(after[0]!.status, 'stopped');
  assert.equal(after[0]!.reason, 'enough data');
  assert.ok(after[0]!.updated_ts >= after[0]!.created_ts);

  const restarted = await cliOk('experiments', 'start', await file('ab.json', AB));
  assert.match(restarted.stdout, /running \(replacing its stopped run\)/);
  await cliOk('experiments', 'stop', 'ranker-ab');
});

test('refusals exit 2 and name the field: a bad file, an unknown model version, an unknown id', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['start', await file('sum.json', { ...AB, variants: [{ name: 'a', model: 'promoted', share: 0.9 }] })],
      /: variants: the served variants' shares must sum to 1/,
    ],
    [
      ['start', await file('v9.json', { ...AB, variants: [{ name: 'a', model: 'recstream@9', share: 1 }] })],
      /: variants\[0\]\.model: the model registry has no version recstream@9/,
    ],
    [['start', await file('junk.json', '{ not json')], /: file: .* is not JSON/],
    [['start', join(dataDir, 'missing.json')], /: file: cannot read/],
    [['stop', 'nope'], /: id: no experiment "nope"/],
    [['show', 'nope'], /: id: no experiment "nope"/],
    [['show'], /needs exactly one experiment id/],
  ];
  for (const [args, message] of cases) {
    const result = await cli('experiments', ...args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
});

test('models promote --canary starts the canary of a candidate; a promoted version or a bad share is refused', async () => {
  const promoted = await cli('models', 'promote', '1', '--canary', '5%');
  assert.equal(promoted.code, 1);
  assert.match(promoted.stderr, /v1 is promoted, not a candidate/);
  const share = await cli('models', 'promote', '2', '--canary', '150%');
  assert.equal(share.code, 1);
  assert.match(share.stderr, /--canary must be a percentage above 0 and below 100/);

  const started = await cliOk('models', 'promote', '2', '--canary', '5%');
  assert.match(started.stdout, /recstream v2: canary canary-recstream-2 started/);
  const [canary] = (JSON.parse((await cliOk('experiments', 'list', '--json')).stdout) as Experiment[]).filter(
    (e) => e.id === 'canary-recstream-2',
  );
  assert.deepEqual(
    canary?.variants.map((v) => [v.name, v.model, v.share]),
    [
      ['candidate', 'recstream@2', 0.05],
      ['control', 'promoted', 0.95],
    ],
  );
  assert.deepEqual(canary?.canary?.steps, [0.05, 0.25, 0.5, 1]);
  const models = JSON.parse((await cliOk('models', 'list', '--json')).stdout) as ModelVersion[];
  assert.deepEqual(
    models.map((v) => v.status),
    ['promoted', 'candidate'],
    'a canary changes no model version',
  );
  const twice = await cli('models', 'promote', '2', '--canary', '5');
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /id: experiment canary-recstream-2 is running/);
  await cliOk('experiments', 'stop', 'canary-recstream-2');
});

test('beside a running process that holds the log: experiments start and stop, models promote and rollback are appended by it, and describe works', {
  timeout: 120_000,
}, async () => {
  const beside = { ...AB, id: 'beside-ab', salt: 'beside-1' };
  // experiment-metrics takes its partition count from its sources: one must exist.
  await withTestPlatform(
    dataDir,
    ({ log }) => log.ensureTopic({ name: 'rec.interactions', partitions: 2 }),
    ENV,
  );
  const { value: events } = await besideRunningProcess(dataDir, 'experiment-metrics', ENV, async () => {
    // Registering the schemas of an application the running process does not run is no append.
    const described = await cliOk('describe', '--app', 'snapshots');
    assert.match(described.stdout, /^Topology: snapshots\n\s+Source: training-examples/);
    const started = await cliOk('experiments', 'start', await file('beside.json', beside));
    assert.match(started.stdout, /experiment beside-ab running/);
    const stopped = await cliOk('experiments', 'stop', 'beside-ab', '--reason', 'tried beside');
    assert.match(stopped.stdout, /beside-ab stopped \(tried beside\)/);
    assert.match((await cliOk('models', 'promote', '2')).stdout, /recstream v2 promoted/);
    assert.match(
      (await cliOk('models', 'rollback', '--reason', 'tried beside')).stdout,
      /v2 rolled back, v1 promoted/,
    );
    // Read while the process still holds the log: the events are there, appended by it.
    const experiments = JSON.parse((await cliOk('experiments', 'list', '--json')).stdout) as Experiment[];
    const models = JSON.parse((await cliOk('models', 'list', '--json')).stdout) as ModelVersion[];
    return { experiments, models };
  });
  const mine = events.experiments.find((e) => e.id === 'beside-ab');
  assert.deepEqual([mine?.status, mine?.reason], ['stopped', 'tried beside']);
  assert.deepEqual(
    events.models.map((v) => [v.version, v.status]),
    [
      [1, 'promoted'],
      [2, 'rolled_back'],
    ],
  );
  assert.equal(await pathExists(join(dataDir, 'log', 'LOCK')), false, 'the process released the log');
});
