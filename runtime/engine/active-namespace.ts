/**
 * Which state namespace of an application is in use (namespace.ts): the
 * one `process`, `state digest`, `materialize` and the online store open.
 * Kept in `<dataDir>/control/<app>/active.json` as `{ "namespace": "N" }`;
 * no file means the default namespace (what every data dir had before
 * namespaces existed). Written to a temporary file then renamed, so a
 * reader sees the old pointer or the new one, never half of one.
 *
 * @example
 * ```ts
 * const dir = controlDir(config.dataDir, 'features');
 * const namespace = await readActiveNamespace(dir);   // undefined: default
 * await writeActiveNamespace(dir, 'g20261121-090000-ab12');
 * ```
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { checkNamespace } from './namespace.js';

const FILE = 'active.json';

/** The active namespace recorded in `controlDir`; undefined for the default one. */
export async function readActiveNamespace(controlDir: string): Promise<string | undefined> {
  const path = join(controlDir, FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let namespace: unknown;
  try {
    namespace = (JSON.parse(text) as { namespace?: unknown }).namespace;
  } catch {
    throw new ConfigError(
      `${path} is not JSON; it should be {"namespace": "NAME"} (or be absent for default)`,
    );
  }
  if (namespace === null || namespace === undefined) return undefined;
  if (typeof namespace !== 'string')
    throw new ConfigError(`${path}: namespace must be a string, not ${JSON.stringify(namespace)}`);
  return checkNamespace(namespace);
}

/** Records `namespace` (undefined: the default one) as active, atomically. */
export async function writeActiveNamespace(controlDir: string, namespace: string | undefined): Promise<void> {
  if (namespace !== undefined) checkNamespace(namespace);
  await mkdir(controlDir, { recursive: true });
  const path = join(controlDir, FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ namespace: namespace ?? null, since: new Date().toISOString() }));
  await rename(tmp, path);
}
