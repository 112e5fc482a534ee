import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../errors.js';
import type { Topology } from '../../processor/topology.js';
import { parseReplayFrom, ReplayProgress, replayOrder, rewrittenTopics } from './reset.js';

function app(applicationId: string, sources: string[], sinks: string[]): Topology {
  return { applicationId, sourceTopics: () => sources, sinkTopics: () => sinks } as unknown as Topology;
}

test('--from parses earliest, ISO times and offsets, and names what is wrong otherwise', () => {
  assert.deepEqual(parseReplayFrom('earliest'), { kind: 'earliest' });
  assert.deepEqual(parseReplayFrom('1200'), { kind: 'offset', offset: 1200 });
  assert.deepEqual(parseReplayFrom('2026-11-20T08:00:00Z'), { kind: 'time', ts: Date.UTC(2026, 10, 20, 8) });
  for (const bad of ['latest', '-5', '1.5', '2026-13-45', 'yesterday', ''])
    assert.throws(
      () => parseReplayFrom(bad),
      (e: unknown) => e instanceof ConfigError && e.message.includes('--from'),
    );
});

test('applications replay writers first; rewritten topics are every sink of the replayed set', () => {
  const snapshots = app('snapshots', ['rec.training-examples'], ['rec.training-snapshots']);
  const features = app(
    'features',
    ['rec.items', 'rec.users', 'rec.interactions', 'rec.interactions.enriched'],
    ['rec.interactions.enriched', 'rec.training-examples'],
  );
  const counts = app('interaction-counts', ['rec.interactions'], []);
  assert.deepEqual(
    replayOrder([snapshots, counts, features]).map((t) => t.applicationId),
    ['interaction-counts', 'features', 'snapshots'],
  );
  assert.deepEqual([...rewrittenTopics([features, snapshots])].sort(), [
    'rec.interactions.enriched',
    'rec.training-examples',
    'rec.training-snapshots',
  ]);
});

test('replay progress counts from the reset positions to the targets only', () => {
  const progress = new ReplayProgress(
    [
      { topic: 'a', partition: 0, end: 100 },
      { topic: 'a', partition: 1, end: 50 },
    ],
    [
      { topic: 'a', partition: 0, offset: 20 },
      { topic: 'a', partition: 1, offset: 0 },
    ],
  );
  assert.equal(progress.total, 130);
  assert.deepEqual(
    progress.at([
      { topic: 'a', partition: 0, offset: 60 },
      { topic: 'a', partition: 1, offset: 50 },
    ]),
    { done: 90, reached: false },
  );
  assert.deepEqual(
    progress.at([
      { topic: 'a', partition: 0, offset: 140 },
      { topic: 'a', partition: 1, offset: 50 },
    ]),
    { done: 130, reached: true },
  );
});
