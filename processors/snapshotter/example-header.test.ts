/**
 * The snapshotter's header deserializer reads a training example's schema
 * id and `example_id` without decoding the rest, which holds only while
 * `example_id` is the first field of every shipped version of
 * `TrainingExample`: pinned here on the versioned byte fixtures.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { writeWireHeader } from '../../runtime/serde/wire.js';
import { loadSchema, schemaVersions } from '../../schemas/index.js';
import { type ExampleHeader, exampleDigest, exampleHeaderDeserializer } from './example-header.js';

const header = (bytes: Buffer) =>
  exampleHeaderDeserializer.deserialize(bytes, 'rec.training-examples') as ExampleHeader;

const SUBJECT = 'rec.training-examples-value';
const fixture = (name: string) => new URL(`../../schemas/${SUBJECT}/fixtures/${name}`, import.meta.url);

function wire(schemaId: number, body: Buffer): Buffer {
  const bytes = Buffer.alloc(5 + body.length);
  writeWireHeader(bytes, schemaId);
  body.copy(bytes, 5);
  return bytes;
}

test('example_id is the first field, a string, of every version of TrainingExample', () => {
  const versions = schemaVersions(SUBJECT);
  assert.ok(versions.length >= 2);
  for (const version of versions) {
    const [first] = (loadSchema(SUBJECT, version) as { fields: { name: string; type: unknown }[] }).fields;
    assert.deepEqual([first?.name, first?.type], ['example_id', 'string'], `v${version}`);
  }
});

test("the header of each version's fixture gives its schema id and example_id", () => {
  for (const version of schemaVersions(SUBJECT)) {
    const json = JSON.parse(readFileSync(fixture(`v${version}.json`), 'utf8')) as { example_id: string };
    const bytes = wire(40 + version, readFileSync(fixture(`v${version}.bin`)));
    assert.deepEqual(header(bytes), {
      kind: 'example',
      schemaId: 40 + version,
      exampleId: json.example_id,
      digest: exampleDigest(bytes),
    });
  }
});

test('the digest is equal for the same bytes and differs for any change, the schema id included', () => {
  const body = readFileSync(fixture('v1.bin'));
  const digest = header(wire(41, body)).digest;
  assert.match(digest, /^[0-9a-f]{16}$/);
  assert.equal(header(wire(41, Buffer.from(body))).digest, digest);
  assert.notEqual(header(wire(42, body)).digest, digest);
  const changed = Buffer.from(body);
  changed[changed.length - 1] = changed.at(-1)! ^ 1;
  assert.notEqual(header(wire(41, changed)).digest, digest);
});

test('a value too short for its example_id is refused with what is wrong, so it is dead-lettered', () => {
  const body = readFileSync(fixture('v1.bin'));
  assert.throws(() => header(wire(41, body.subarray(0, 10))), /example_id claims 36 bytes, 9 left/);
  assert.throws(() => header(wire(41, Buffer.alloc(0))), /too short for its example_id/);
  assert.throws(() => header(Buffer.from([0, 0])), /too short for the Confluent wire format/);
});
