/**
 * The Node.js the README promises (package.json `engines.node`) runs every
 * package the lock file installs: no installed package declares an
 * `engines.node` that the promise's lowest version, or the Node running
 * the tests, falls outside of — which is what makes `npm ci` warn
 * `EBADENGINE` on a fresh clone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { minVersion, satisfies, validRange } from 'semver';

const ROOT = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8'));
const lock = JSON.parse(readFileSync(new URL('package-lock.json', ROOT), 'utf8'));

test('the promised Node.js runs every locked package', () => {
  const promise: string = manifest.engines.node;
  const lowest = minVersion(promise);
  assert.ok(lowest, `package.json engines.node ${promise} is not a version range`);
  const nodes = [lowest.version, process.versions.node];
  const refused: string[] = [];
  for (const [path, entry] of Object.entries<{ engines?: { node?: string } }>(lock.packages)) {
    const wanted = entry.engines?.node;
    if (path === '' || wanted === undefined || validRange(wanted) === null) continue;
    for (const node of nodes)
      if (!satisfies(node, wanted)) refused.push(`${path} wants node ${wanted}, not ${node}`);
  }
  assert.deepEqual(refused, [], `the README promises Node.js ${promise}`);
});
