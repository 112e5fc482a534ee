import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAvroType } from '../runtime/serde/avro.js';
import { loadSchema, SUBJECTS, schemaVersions } from './index.js';

// The fixtures are read beside this compiled file (copy-assets puts them there), like the schemas.
const fixture = (subject: string, name: string) => new URL(`./${subject}/fixtures/${name}`, import.meta.url);

const cases = SUBJECTS.flatMap((subject) =>
  schemaVersions(subject)
    .filter((version) => existsSync(fixture(subject, `v${version}.json`)))
    .map((version) => ({ subject, version })),
);

test('every subject has a fixture for its first version', () => {
  for (const subject of SUBJECTS) {
    assert.ok(existsSync(fixture(subject, 'v1.json')), `${subject}/fixtures/v1.json`);
  }
});

for (const { subject, version } of cases) {
  test(`${subject} v${version}: the JSON fixture encodes to the .bin byte for byte and back`, () => {
    const type = parseAvroType(loadSchema(subject, version));
    const json = readFileSync(fixture(subject, `v${version}.json`), 'utf8');
    const bin = readFileSync(fixture(subject, `v${version}.bin`));
    const value = type.fromString(json);
    assert.ok(type.isValid(value), 'the JSON fixture matches its schema');
    assert.deepEqual(
      type.toBuffer(value),
      bin,
      'encoding the JSON gives the .bin (run npm run gen:fixtures?)',
    );
    const decoded = type.fromBuffer(bin);
    assert.deepEqual(decoded, value);
    assert.deepEqual(
      JSON.parse(type.toString(decoded)),
      JSON.parse(json),
      'decoding the .bin gives the JSON',
    );
  });
}
