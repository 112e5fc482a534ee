import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CorruptDataError, StorageError } from '../../errors.js';
import { registryContract } from '../registry.contract.js';
import { openEmbeddedRegistry } from './embedded-registry.js';

registryContract('embedded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-registry-'));
  const registry = await openEmbeddedRegistry({ dataDir: dir });
  return {
    registry,
    dispose: async () => {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const schema = (name: string) => ({
  type: 'record',
  name,
  namespace: 't',
  fields: [{ name: 'a', type: 'string' }],
});

async function withDataDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-registry-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('ids, versions and levels survive a restart', () =>
  withDataDir(async (dir) => {
    const first = await openEmbeddedRegistry({ dataDir: dir });
    const a = await first.register('s-value', schema('A'));
    const b = await first.register('s2-value', schema('B'));
    await first.setCompatibility('s-value', 'FULL');
    await first.close();

    const second = await openEmbeddedRegistry({ dataDir: dir });
    assert.equal(await second.register('s-value', schema('A')), a);
    assert.deepEqual(JSON.parse(await second.getById(b)), schema('B'));
    assert.equal(await second.getCompatibility('s-value'), 'FULL');
    assert.ok((await readdir(join(dir, 'registry'))).includes('registry.json'));
  }));

test('a second instance on the same data dir sees new ids and versions', () =>
  withDataDir(async (dir) => {
    const writer = await openEmbeddedRegistry({ dataDir: dir });
    const reader = await openEmbeddedRegistry({ dataDir: dir });
    await writer.register('s-value', schema('A'));
    assert.equal((await reader.getLatest('s-value')).version, 1);
    const id = await writer.register('s-value', { ...schema('A'), doc: 'v2' });
    assert.deepEqual(JSON.parse(await reader.getById(id)), { ...schema('A'), doc: 'v2' });
    assert.equal((await reader.getLatest('s-value')).version, 2);
  }));

test('processes registering at the same time get distinct, consistent ids', () =>
  withDataDir(async (dir) => {
    const module = new URL('./embedded-registry.js', import.meta.url).href;
    const child = (p: number) => `
      const { openEmbeddedRegistry } = await import(${JSON.stringify(module)});
      const registry = await openEmbeddedRegistry({ dataDir: ${JSON.stringify(dir)} });
      const ids = [];
      for (let i = 0; i < 8; i++) {
        const schema = { type: 'record', name: 'P', doc: 'p${p}n' + i, fields: [{ name: 'a', type: 'string' }] };
        ids.push(await registry.register('p${p}-value', schema), await registry.register('shared-value', { type: 'string' }));
      }
      process.stdout.write(JSON.stringify(ids));
    `;
    const outputs = await Promise.all(
      [0, 1, 2].map(
        (p) =>
          new Promise<number[]>((resolve, reject) => {
            const proc = spawn(process.execPath, ['--input-type=module', '-e', child(p)], {
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            let out = '';
            proc.stdout.on('data', (chunk: Buffer) => {
              out += chunk.toString();
            });
            proc.on('exit', (code) =>
              code === 0
                ? resolve(JSON.parse(out) as number[])
                : reject(new Error(`child ${p} exited ${code}`)),
            );
          }),
      ),
    );
    const registry = await openEmbeddedRegistry({ dataDir: dir });
    const sharedIds = new Set(outputs.flatMap((ids) => ids.filter((_, i) => i % 2 === 1)));
    assert.equal(sharedIds.size, 1, 'every process got the same id for the same schema');
    const own = outputs.flatMap((ids) => ids.filter((_, i) => i % 2 === 0));
    assert.equal(new Set(own).size, 24, 'distinct schemas got distinct ids');
    for (const [p, ids] of outputs.entries()) {
      assert.deepEqual(await registry.listVersions(`p${p}-value`), [1, 2, 3, 4, 5, 6, 7, 8]);
      for (const [i, id] of ids.filter((_, k) => k % 2 === 0).entries()) {
        assert.equal(JSON.parse(await registry.getById(id)).doc, `p${p}n${i}`);
      }
    }
    assert.deepEqual(await registry.listVersions('shared-value'), [1]);
  }));

test('a lock left by a dead process and temporary files left by a crashed write are cleaned up', () =>
  withDataDir(async (dir) => {
    const first = await openEmbeddedRegistry({ dataDir: dir });
    await first.register('s-value', schema('A'));
    const registryDir = join(dir, 'registry');
    await writeFile(join(registryDir, 'registry.lock'), '2147483646 someone-else\n');
    await writeFile(join(registryDir, 'registry.json.999.dead.tmp'), '{"half":');
    const second = await openEmbeddedRegistry({ dataDir: dir });
    assert.equal(await second.register('s-value', schema('A')), 1);
    await second.register('t-value', schema('B'));
    const names = await readdir(registryDir);
    assert.deepEqual(names.sort(), ['registry.json']);
  }));

test('a damaged registry file is reported, not silently replaced', () =>
  withDataDir(async (dir) => {
    const registry = await openEmbeddedRegistry({ dataDir: dir });
    await registry.register('s-value', schema('A'));
    const file = join(dir, 'registry', 'registry.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"schemas"', '"schemaz"'));
    const reopened = await openEmbeddedRegistry({ dataDir: dir });
    await assert.rejects(reopened.listSubjects(), (err: unknown) => {
      assert.ok(err instanceof CorruptDataError);
      assert.match(err.message, /registry\.json is damaged: "schemas" must be an array of strings/);
      return true;
    });
  }));

test('a read-only registry writes nothing: it reads what writers register and refuses changes', () =>
  withDataDir(async (dir) => {
    const early = await openEmbeddedRegistry({ dataDir: dir, readOnly: true });
    assert.deepEqual(await early.listSubjects(), []);
    assert.equal(existsSync(join(dir, 'registry')), false, 'no folder is created');

    const writer = await openEmbeddedRegistry({ dataDir: dir });
    const id = await writer.register('s-value', schema('A'));
    // A leftover of a crashed write: only a writer may tidy it away.
    await writeFile(join(dir, 'registry', 'registry.json.999.dead.tmp'), '{"half":');
    const file = join(dir, 'registry', 'registry.json');
    const before = {
      names: (await readdir(join(dir, 'registry'))).sort(),
      mtime: (await stat(file)).mtimeMs,
    };

    const reader = await openEmbeddedRegistry({ dataDir: dir, readOnly: true });
    assert.equal((await reader.getLatest('s-value')).id, id);
    assert.equal((await early.getLatest('s-value')).id, id, 'a reader opened earlier sees it too');
    assert.equal(await reader.register('s-value', schema('A')), id, 'a schema already registered is found');
    const readOnly = (err: unknown) => {
      assert.ok(err instanceof StorageError, String(err));
      assert.match(err.message, /opened read-only/);
      return true;
    };
    await assert.rejects(reader.register('s-value', { ...schema('A'), doc: 'v2' }), readOnly);
    await assert.rejects(reader.register('t-value', schema('B')), readOnly);
    await assert.rejects(reader.setCompatibility('s-value', 'FULL'), readOnly);
    await assert.rejects(reader.setDefaultCompatibility('NONE'), readOnly);
    await reader.close();
    assert.deepEqual(
      { names: (await readdir(join(dir, 'registry'))).sort(), mtime: (await stat(file)).mtimeMs },
      before,
    );
    await writer.close();
    await early.close();
  }));
