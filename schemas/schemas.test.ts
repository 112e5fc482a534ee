import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import avsc from 'avsc';
import { parseAvroType } from '../runtime/serde/avro.js';
import {
  latestSchemaVersion,
  loadSchema,
  SUBJECTS,
  schemaVersions,
  TOPIC_BY_SUBJECT,
  topicForSubject,
  valueSubject,
} from './index.js';

type Node = { readonly [key: string]: unknown };

/** Every named type and field of a schema, with where it sits, so a missing doc can be pointed at. */
function* namedParts(schema: unknown, where: string): Generator<{ where: string; node: Node; kind: string }> {
  if (Array.isArray(schema)) {
    for (const branch of schema) yield* namedParts(branch, where);
    return;
  }
  if (schema === null || typeof schema !== 'object') return;
  const node = schema as Node;
  if (node.type === 'record' || node.type === 'enum' || node.type === 'fixed') {
    yield { where: `${where} (${String(node.name)})`, node, kind: 'type' };
  }
  if (node.type === 'record') {
    for (const field of node.fields as Node[]) {
      const at = `${where}.${String(field.name)}`;
      yield { where: at, node: field, kind: 'field' };
      yield* namedParts(field.type, at);
    }
  }
  if (node.type === 'array') yield* namedParts(node.items, `${where}[]`);
  if (node.type === 'map') yield* namedParts(node.values, `${where}{}`);
}

test('every schema folder is a known subject and every subject has a folder', () => {
  const folders = readdirSync(new URL('./', import.meta.url), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.startsWith('rec.'))
    .map((d) => d.name)
    .sort();
  assert.deepEqual(folders, [...SUBJECTS].sort());
  for (const subject of SUBJECTS) {
    assert.equal(valueSubject(topicForSubject(subject)), subject);
    assert.equal(TOPIC_BY_SUBJECT[subject], subject.slice(0, -'-value'.length));
  }
});

test('every version of every subject parses, lives in namespace rec and documents every type and field', () => {
  for (const subject of SUBJECTS) {
    for (const version of schemaVersions(subject)) {
      const schema = loadSchema(subject, version) as Node;
      parseAvroType(schema);
      assert.equal(schema.namespace, 'rec', `${subject} v${version} namespace`);
      for (const { where, node, kind } of namedParts(schema, `${subject}/v${version}`)) {
        assert.ok(typeof node.doc === 'string' && node.doc.length > 0, `${kind} ${where} has no doc`);
      }
    }
  }
});

test('a named type shared by several subjects is defined identically everywhere', () => {
  const definitions = new Map<string, { subject: string; schema: string }>();
  for (const subject of SUBJECTS) {
    const registry: Record<string, avsc.Type> = {};
    avsc.Type.forSchema(loadSchema(subject) as never, { wrapUnions: 'never', registry });
    for (const [name, type] of Object.entries(registry)) {
      // Compared with docs, as the generated types carry them: a shared type must read the same everywhere.
      const text = JSON.stringify(type.schema({ exportAttrs: true }));
      const seen = definitions.get(name);
      if (seen === undefined) definitions.set(name, { subject, schema: text });
      else assert.equal(text, seen.schema, `${name} differs between ${seen.subject} and ${subject}`);
    }
  }
  assert.ok(definitions.has('rec.Interaction') && definitions.has('rec.UserFeatures'));
});

test('loadSchema defaults to the newest version and names what is missing', () => {
  assert.deepEqual(
    loadSchema('rec.items-value'),
    loadSchema('rec.items-value', latestSchemaVersion('rec.items-value')),
  );
  assert.throws(() => loadSchema('rec.items-value', 99), /version 99 of subject 'rec.items-value'/);
  assert.throws(() => schemaVersions('rec.nope-value'), /subject 'rec.nope-value'/);
});
