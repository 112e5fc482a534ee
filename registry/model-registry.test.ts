import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IndexVersion, ModelStatus, ModelVersion } from '../schemas/generated/types.js';
import { IndexRegistry } from './index-registry.js';
import { ModelRegistry } from './model-registry.js';

function event(version: number, status: ModelStatus): ModelVersion {
  return {
    model: 'm',
    version,
    snapshot_id: 'set',
    lineage: [],
    created_ts: version,
    artifacts: [],
    metrics: {},
    status,
    status_ts: version,
    reason: null,
    parent_version: null,
    engine: 'test',
    device: 'cpu',
    params: {},
  };
}

test('the registry folds events: newest status wins, rollback returns to the previous promotion', () => {
  const registry = new ModelRegistry();
  registry.apply(event(1, 'promoted'));
  registry.apply(event(2, 'rejected'));
  registry.apply(event(3, 'promoted'));
  assert.equal(registry.promoted('m')?.version, 3);
  assert.equal(registry.rollbackTarget('m')?.version, 1);
  assert.equal(registry.nextVersion('m'), 4);
  registry.apply(event(3, 'rolled_back'));
  assert.equal(registry.promoted('m'), undefined, 'a rolled-back version is no longer promoted');
  registry.apply(event(1, 'promoted'));
  assert.equal(registry.promoted('m')?.version, 1);
  assert.equal(registry.get('m', 3)?.status, 'rolled_back');
  assert.equal(registry.rollbackTarget('m'), undefined, 'v3 was rolled back: nothing left to return to');
  assert.deepEqual(
    registry.versions('m').map((v) => [v.version, v.status]),
    [
      [1, 'promoted'],
      [2, 'rejected'],
      [3, 'rolled_back'],
    ],
  );
});

function indexEvent(version: number, kind: 'full' | 'delta', uri: string): IndexVersion {
  return {
    index: 'items',
    version,
    model: 'm',
    model_version: 1,
    kind,
    base_version: kind === 'full' ? null : 1,
    uri,
    sha256: '0'.repeat(64),
    item_count: 10,
    dimensions: 8,
    metric: 'ip',
    built_ts: version,
  };
}

test('the index registry keeps the first event of a version: a repeated number does not replace it', () => {
  const registry = new IndexRegistry();
  registry.apply(indexEvent(1, 'full', 'file:///a/v1'));
  registry.apply(indexEvent(2, 'delta', 'file:///a/v2'));
  registry.apply(indexEvent(1, 'full', 'file:///b/v1'));
  assert.deepEqual(
    registry.versions('items').map((v) => [v.version, v.uri]),
    [
      [1, 'file:///a/v1'],
      [2, 'file:///a/v2'],
    ],
  );
  assert.equal(registry.nextVersion('items'), 3);
  assert.equal(registry.nextVersion('other'), 1);
  assert.equal(registry.fullFor('items', 'm', 1)?.uri, 'file:///a/v1');
  assert.equal(registry.latestDelta('items', 1)?.version, 2);
});
