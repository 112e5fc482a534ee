// Regenerates the byte fixtures: for every schemas/<subject>/fixtures/vN.json
// it writes vN.bin, the value's Avro binary encoding under
// schemas/<subject>/vN.avsc. The .json is written by hand in Avro's standard
// JSON encoding (a non-null union value wrapped as {"string": "tv"}, bytes as
// a string of \u0000-\u00ff characters), so other Avro implementations read
// it too: `avro-tools jsontofrag --schema-file vN.avsc vN.json` gives vN.bin.
// Run `npm run gen:fixtures` after adding a fixture or a schema version; the
// round-trip test only compares, it never writes, so a change in encoding
// shows up as a failing test, not as a new .bin.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avsc from 'avsc';

// Must match runtime/serde/avro.ts; the fixture test encodes with that module, so a mismatch fails it.
// A fresh object per schema: avsc keeps its registry of named types in the options.
const typeOptions = () => ({ wrapUnions: 'never' });

const schemasDir = fileURLToPath(new URL('../schemas/', import.meta.url));
let failed = false;
for (const subject of readdirSync(schemasDir)
  .filter((d) => d.endsWith('-value'))
  .sort()) {
  const fixturesDir = join(schemasDir, subject, 'fixtures');
  let names;
  try {
    names = readdirSync(fixturesDir).filter((n) => /^v\d+\.json$/.test(n));
  } catch {
    continue;
  }
  for (const name of names.sort()) {
    const version = name.slice(0, -'.json'.length);
    const schema = JSON.parse(readFileSync(join(schemasDir, subject, `${version}.avsc`), 'utf8'));
    const type = avsc.Type.forSchema(schema, typeOptions());
    const value = type.fromString(readFileSync(join(fixturesDir, name), 'utf8'));
    const problems = [];
    type.isValid(value, { errorHook: (path) => problems.push(path.join('.') || '(value)') });
    if (problems.length > 0) {
      console.error(`${subject}/fixtures/${name} does not match ${version}.avsc at: ${problems.join(', ')}`);
      failed = true;
      continue;
    }
    const out = join(fixturesDir, `${version}.bin`);
    writeFileSync(out, type.toBuffer(value));
    console.log(`wrote ${out}`);
  }
}
process.exit(failed ? 1 : 0);
