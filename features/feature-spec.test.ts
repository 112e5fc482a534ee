import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_COLUMNS } from './example-columns.js';
import { EXAMPLE_FEATURES, FEATURE_SERVICE } from './feature-service.js';
import { PYTHON_SPEC_HEADER, pythonFeatureSpec } from './python-spec.js';

/** The repository root: the nearest folder above this file with a package.json (works from dist/ too). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above the test file');
    dir = parent;
  }
  return dir;
}

test('models/recstream_models/feature_spec.py is what the declaration generates', () => {
  const committed = readFileSync(join(repoRoot(), 'models', 'recstream_models', 'feature_spec.py'), 'utf8');
  assert.ok(committed.startsWith(PYTHON_SPEC_HEADER));
  assert.equal(committed, pythonFeatureSpec(), 'feature_spec.py is stale: run npm run gen:features');
});

test('the example columns are the declared features, and every model input is a declared column', () => {
  assert.deepEqual(
    EXAMPLE_COLUMNS.map((c) => c.name),
    EXAMPLE_FEATURES.map((f) => f.name),
  );
  const columns = new Set(EXAMPLE_COLUMNS.map((c) => c.name));
  for (const f of [...FEATURE_SERVICE.userTower.features, ...FEATURE_SERVICE.ranker.features])
    assert.ok(columns.has(f.name), f.name);
  for (const f of FEATURE_SERVICE.itemTower.features)
    assert.ok(f.name === 'item' || 'catalogColumn' in f, `${f.name} names no catalog column`);
});
