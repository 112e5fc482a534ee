import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnlineStoreError } from '../errors.js';
import { TopologyBuilder } from '../processor/topology.js';
import { numberCodec } from '../state/codecs/number-codec.js';
import { resolveViews } from './view-spec.js';

const topology = new TopologyBuilder('user-features')
  .addSource('in', ['rec.interactions'], { deserialize: (b: Buffer) => b })
  .addProcessor('user-features', () => ({ process: () => undefined }), ['in'])
  .addStore({ name: 'user-view', codec: numberCodec }, ['user-features'])
  .build();

test('a view takes its codec and changelog from the store the topology declares', () => {
  const resolved = resolveViews(
    [{ view: 'user', entity: 'user', application: 'user-features', store: 'user-view' }],
    [topology],
  );
  assert.deepEqual(resolved.sources, [{ topic: 'rec.user-features.user-view.changelog', view: 'user' }]);
  assert.equal(resolved.views.get('user').codec, numberCodec);
  assert.deepEqual(
    resolved.bindings.map((b) => [b.view.name, b.application, b.store]),
    [['user', 'user-features', 'user-view']],
  );
});

test('a view naming an unknown application or store is refused, naming what exists', () => {
  assert.throws(
    () => resolveViews([{ view: 'u', entity: 'user', application: 'nope', store: 's' }], [topology]),
    (err: unknown) =>
      err instanceof OnlineStoreError &&
      /application nope, which is not among user-features/.test(err.message),
  );
  assert.throws(
    () => resolveViews([{ view: 'u', entity: 'user', application: 'user-features', store: 'x' }], [topology]),
    /names store x of user-features, which declares user-view/,
  );
  assert.throws(
    () =>
      resolveViews(
        [{ view: 'a b', entity: 'user', application: 'user-features', store: 'user-view' }],
        [topology],
      ),
    /feature view name "a b" must be/,
  );
});
