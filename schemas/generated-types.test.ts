import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

test('schemas/generated/types.ts is what scripts/gen-types.mjs generates from the schemas', async () => {
  const root = repoRoot();
  const { generateTypes, HEADER } = await import(pathToFileURL(join(root, 'scripts', 'gen-types.mjs')).href);
  const committed = readFileSync(join(root, 'schemas', 'generated', 'types.ts'), 'utf8');
  assert.ok(committed.startsWith(HEADER));
  assert.equal(committed, generateTypes(join(root, 'schemas')), 'types.ts is stale: run npm run gen:types');
});
