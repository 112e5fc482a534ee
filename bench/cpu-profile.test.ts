import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type CpuProfile, cpuProfiled, partOf, partsTable, selfTimeByPart } from './cpu-profile.js';
import { PACKAGE_ROOT } from './results-files.js';

test('a frame belongs to a project directory two deep, an npm package, a Node module or V8 itself', () => {
  const project = (path: string) => pathToFileURL(join(PACKAGE_ROOT, path)).href;
  assert.equal(partOf('put', project('dist/runtime/state/cached-store.js')), 'runtime/state');
  assert.equal(
    partOf('process', project('dist/processors/item-features/label-join.js')),
    'processors/item-features',
  );
  assert.equal(partOf('f', project('dist/bench/result.js')), 'bench/result.js');
  assert.equal(partOf('decode', project('node_modules/avsc/lib/types.js')), 'npm:avsc');
  assert.equal(
    partOf('x', project('node_modules/@opentelemetry/api/build/index.js')),
    'npm:@opentelemetry/api',
  );
  assert.equal(partOf('read', 'node:fs'), 'node:fs');
  assert.equal(partOf('(garbage collector)', ''), '(garbage collector)');
  assert.equal(partOf('get', ''), '(native)');
});

test("self time is summed per part from the samples' time deltas, largest first", () => {
  const url = pathToFileURL(join(PACKAGE_ROOT, 'dist/runtime/log/embedded/consumer.js')).href;
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '' } },
      { id: 2, callFrame: { functionName: 'poll', url } },
      { id: 3, callFrame: { functionName: '(garbage collector)', url: '' } },
    ],
    startTime: 0,
    endTime: 4000,
    samples: [2, 3, 2, 2],
    timeDeltas: [1000, 1000, 1000, 1000],
  };
  const parts = selfTimeByPart(profile);
  assert.deepEqual(parts, [
    { part: 'runtime/log', ms: 3, share: 0.75 },
    { part: '(garbage collector)', ms: 1, share: 0.25 },
  ]);
  const table = partsTable('consumer', parts, 0.5);
  assert.match(table, /\| `runtime\/log` \| 3 \| 75\.0 % \|/);
  assert.match(table, /\| 1 other parts \| 1 \| 25\.0 % \|/);
});

test('a profiled stretch of work writes its profile and table and returns what the work returned', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cpu-profile-'));
  try {
    const busy = () => {
      let x = 0;
      for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
      return x;
    };
    const result = await cpuProfiled(join(dir, 'busy'), async () => busy());
    assert.ok(result > 0);
    const profile = JSON.parse(await readFile(join(dir, 'busy.cpuprofile'), 'utf8')) as CpuProfile;
    assert.ok(profile.samples.length > 0);
    assert.match(await readFile(join(dir, 'busy.md'), 'utf8'), /^### busy\n/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
