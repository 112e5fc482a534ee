/**
 * Every shipped schema version can be registered after the one before it
 * under the default BACKWARD level (the registry's own check), and the
 * byte fixture of the version before reads under the newer one.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compatibilityMessages } from '../runtime/registry/compatibility.js';
import { parseAvroType } from '../runtime/serde/avro.js';
import { loadSchema, SUBJECTS, schemaVersions } from './index.js';

const fixture = (subject: string, name: string) => new URL(`./${subject}/fixtures/${name}`, import.meta.url);

/** The older version's fixture read as written and under the newer version; the newer one must have its own fixture. */
function readOlderFixture<T = Record<string, unknown>>(
  subject: string,
  older: number,
  newer: number,
): { resolved: T; original: T } {
  const writer = parseAvroType(loadSchema(subject, older));
  const reader = parseAvroType(loadSchema(subject, newer));
  const bytes = readFileSync(fixture(subject, `v${older}.bin`));
  assert.ok(existsSync(fixture(subject, `v${newer}.bin`)), `${subject} has a fixture for v${newer}`);
  return {
    resolved: reader.fromBuffer(bytes, reader.createResolver(writer)) as T,
    original: writer.fromBuffer(bytes) as T,
  };
}

type WithOrderings = { variants: { ordering: Record<string, unknown> | null }[] };

test('each version of every subject is BACKWARD compatible with the version before it', () => {
  for (const subject of SUBJECTS) {
    const versions = schemaVersions(subject);
    for (let i = 1; i < versions.length; i++) {
      const typeOf = (version: number) => ({ version, type: parseAvroType(loadSchema(subject, version)) });
      const messages = compatibilityMessages({
        subject,
        level: 'BACKWARD',
        candidate: typeOf(versions[i]!),
        previous: [typeOf(versions[i - 1]!)],
      });
      assert.deepEqual(messages, [], `${subject} v${versions[i]}`);
    }
  }
});

test('the served position added to enriched records and training examples reads as null from older bytes', () => {
  for (const [subject, older, newer] of [
    ['rec.interactions.enriched-value', 2, 3],
    ['rec.training-examples-value', 1, 2],
  ] as const) {
    const { resolved, original } = readOlderFixture(subject, older, newer);
    assert.equal(resolved.served, null, `${subject} v${older} read as v${newer}`);
    assert.deepEqual({ ...resolved, served: undefined }, { ...original, served: undefined });
  }
});

test('experiments written before exploration read under v2 with both exploration overrides null', () => {
  const { resolved, original } = readOlderFixture<WithOrderings>('rec.experiments-value', 1, 2);
  assert.deepEqual(
    resolved.variants.map((v) => v.ordering),
    original.variants.map((v) =>
      v.ordering === null
        ? null
        : { ...v.ordering, exploration_epsilon: null, exploration_fresh_weight: null },
    ),
  );
  assert.deepEqual(
    { ...resolved, variants: undefined },
    { ...original, variants: undefined },
    'every other field as written',
  );
});

test('served lists written before v3 read with no exploration policy and no item frontiers', () => {
  const { resolved, original } = readOlderFixture('rec.recommendations-value', 2, 3);
  assert.deepEqual(resolved, { ...original, exploration: null, item_frontiers: null });
});

test('experiments written before Plackett–Luce read under v3 with its three overrides null', () => {
  const { resolved, original } = readOlderFixture<WithOrderings>('rec.experiments-value', 2, 3);
  const none = { exploration_policy: null, exploration_temperature: null, exploration_pool_size: null };
  assert.deepEqual(
    resolved.variants.map((v) => v.ordering),
    original.variants.map((v) => (v.ordering === null ? null : { ...v.ordering, ...none })),
  );
  assert.deepEqual({ ...resolved, variants: undefined }, { ...original, variants: undefined });
});

test('served lists written before v4 read with no exploration pool', () => {
  const { resolved, original } = readOlderFixture('rec.recommendations-value', 3, 4);
  assert.deepEqual(resolved, { ...original, exploration_pool: null });
});

test('served lists written before v5 read as anonymous: caller null', () => {
  const { resolved, original } = readOlderFixture('rec.recommendations-value', 4, 5);
  assert.deepEqual(resolved, { ...original, caller: null });
});
