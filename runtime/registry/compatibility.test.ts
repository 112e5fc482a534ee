import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAvroType } from '../serde/avro.js';
import { compatibilityMessages, fieldOfMessage } from './compatibility.js';
import type { CompatibilityLevel } from './registry.js';

type Field = { name: string; type: unknown; default?: unknown; aliases?: string[] };

function record(fields: Field[], name = 'Item'): Record<string, unknown> {
  return { type: 'record', name, namespace: 'rec', fields };
}

const base: Field[] = [
  { name: 'item_id', type: 'string' },
  { name: 'duration_s', type: 'int' },
  { name: 'language', type: ['null', 'string'], default: null },
];

/** Messages for registering `next` after `versions` (v1, v2, …) under `level`. */
function check(
  level: CompatibilityLevel,
  versions: Record<string, unknown>[],
  next: Record<string, unknown>,
): string[] {
  return compatibilityMessages({
    subject: 'rec.items-value',
    level,
    candidate: { version: versions.length + 1, type: parseAvroType(next) },
    previous: versions.map((schema, i) => ({ version: i + 1, type: parseAvroType(schema) })),
  });
}

describe('BACKWARD (the new schema reads old data)', () => {
  test('adding a field with a default is fine, without one it is refused and named', () => {
    const v1 = record(base);
    const v2 = record([...base, { name: 'studio', type: 'string', default: '' }]);
    assert.deepEqual(check('BACKWARD', [v1], v2), []);
    const v3 = record([
      ...base,
      { name: 'studio', type: 'string', default: '' },
      { name: 'rank', type: 'int' },
    ]);
    assert.deepEqual(check('BACKWARD', [v1, v2], v3), [
      "rec.items-value v3 is not BACKWARD compatible with v2: field 'rank' has no default and is missing from the writer schema",
    ]);
  });

  test('removing a field is fine', () => {
    assert.deepEqual(check('BACKWARD', [record(base)], record(base.slice(0, 2))), []);
  });

  test('a type change is named with both types; promotions are allowed', () => {
    const changed = record([base[0]!, { name: 'duration_s', type: 'string' }, base[2]!]);
    assert.deepEqual(check('BACKWARD', [record(base)], changed), [
      "rec.items-value v2 is not BACKWARD compatible with v1: field 'duration_s' changed from int to string",
    ]);
    const promoted = record([base[0]!, { name: 'duration_s', type: 'long' }, base[2]!]);
    assert.deepEqual(check('BACKWARD', [record(base)], promoted), []);
  });

  test('nested records and arrays give full field paths', () => {
    const inner = (fields: Field[]) => ({ type: 'record', name: 'Context', fields });
    const v1 = record([
      { name: 'context', type: inner([{ name: 'device', type: ['null', 'string'], default: null }]) },
      { name: 'tags', type: { type: 'array', items: 'rec.Context' } },
    ]);
    const v2 = record([
      {
        name: 'context',
        type: inner([
          { name: 'device', type: ['null', 'string'], default: null },
          { name: 'surface', type: 'string' },
        ]),
      },
      { name: 'tags', type: { type: 'array', items: 'rec.Context' } },
    ]);
    const messages = check('BACKWARD', [v1], v2);
    assert.equal(fieldOfMessage(messages[0]!), 'context.surface');
    assert.match(
      messages[0]!,
      /field 'context.surface' has no default and is missing from the writer schema/,
    );
    assert.match(messages.join('\n'), /field 'tags\[\]\.surface' has no default/);
  });

  test('a nullable field that changes branch type is named with both unions', () => {
    const v2 = record([base[0]!, base[1]!, { name: 'language', type: ['null', 'int'], default: null }]);
    assert.deepEqual(check('BACKWARD', [record(base)], v2), [
      "rec.items-value v2 is not BACKWARD compatible with v1: field 'language' changed from null | string to null | int",
    ]);
  });

  test('a required field becoming nullable is fine, the other way round is not', () => {
    const nullable = record([
      base[0]!,
      { name: 'duration_s', type: ['null', 'int'], default: null },
      base[2]!,
    ]);
    assert.deepEqual(check('BACKWARD', [record(base)], nullable), []);
    assert.match(
      check('BACKWARD', [nullable], record(base))[0]!,
      /field 'duration_s' changed from null \| int to int/,
    );
  });

  test('a renamed field is fine with an alias to the old name', () => {
    const renamed = record([base[0]!, { name: 'runtime_s', type: 'int', aliases: ['duration_s'] }, base[2]!]);
    assert.deepEqual(check('BACKWARD', [record(base)], renamed), []);
  });

  test('enum symbols: dropping one needs a default', () => {
    const kind = (symbols: string[], extra: object = {}) => ({
      name: 'kind',
      type: { type: 'enum', name: 'Kind', symbols, ...extra },
    });
    const v1 = record([kind(['movie', 'series', 'short'])]);
    assert.deepEqual(check('BACKWARD', [v1], record([kind(['movie', 'series', 'short', 'live'])])), []);
    assert.match(
      check('BACKWARD', [v1], record([kind(['movie', 'series'])]))[0]!,
      /field 'kind' \(enum rec.Kind\) dropped symbol 'short'/,
    );
    assert.deepEqual(check('BACKWARD', [v1], record([kind(['movie', 'series'], { default: 'movie' })])), []);
  });

  test('a renamed record is refused', () => {
    assert.match(
      check('BACKWARD', [record(base)], record(base, 'Product'))[0]!,
      /the schema changed from record rec.Item to record rec.Product/,
    );
  });
});

describe('other levels', () => {
  const v1 = record(base);
  const withoutDuration = record([base[0]!, base[2]!]);

  test('FORWARD: removing a field without a default is refused (old readers need it)', () => {
    assert.deepEqual(check('FORWARD', [v1], withoutDuration), [
      "rec.items-value v2 is not FORWARD compatible with v1: field 'duration_s' was removed, and the old schema has no default for it, so old readers cannot read new data",
    ]);
    assert.deepEqual(check('FORWARD', [v1], record([...base, { name: 'rank', type: 'int' }])), []);
  });

  test('FULL checks both ways', () => {
    assert.equal(check('FULL', [v1], withoutDuration).length, 1);
    assert.equal(check('FULL', [v1], record([...base, { name: 'rank', type: 'int' }])).length, 1);
    assert.deepEqual(check('FULL', [v1], record([...base, { name: 'rank', type: 'int', default: 0 }])), []);
  });

  test('transitive levels check every version, the others only the latest', () => {
    const v2 = record([...base, { name: 'rank', type: 'int', default: 0 }]);
    const v3 = record([...base, { name: 'rank', type: 'int' }]);
    assert.deepEqual(check('BACKWARD', [v1, v2], v3), []);
    assert.deepEqual(check('BACKWARD_TRANSITIVE', [v1, v2], v3), [
      "rec.items-value v3 is not BACKWARD_TRANSITIVE compatible with v1: field 'rank' has no default and is missing from the writer schema",
    ]);
  });

  test('NONE accepts anything', () => {
    assert.deepEqual(check('NONE', [v1], record(base, 'Other')), []);
  });
});
