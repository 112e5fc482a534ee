/**
 * The behaviour every SchemaRegistry back-end must have, as one node:test
 * suite. Each back-end's test file calls `registryContract` with a factory
 * that opens a fresh, empty registry.
 *
 * @example
 * ```ts
 * registryContract('embedded', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'reg-'));
 *   const registry = await openEmbeddedRegistry({ dataDir: dir });
 *   return { registry, dispose: () => rm(dir, { recursive: true }) };
 * });
 * ```
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadSchema } from '../../schemas/index.js';
import { IncompatibleSchemaError, InvalidSchemaError, SchemaNotFoundError } from '../errors.js';
import type { SchemaRegistry } from './registry.js';

export interface OpenedRegistry {
  readonly registry: SchemaRegistry;
  /** Closes the registry and removes whatever the factory created. */
  dispose(): Promise<void>;
}

type Field = { name: string; type: unknown; default?: unknown; doc?: string };

/** The shipped Item schema with fields added or changed, for evolution cases. */
function item(edit: (fields: Field[]) => Field[] = (f) => f): Record<string, unknown> {
  const schema = structuredClone(loadSchema('rec.items-value', 1)) as { fields: Field[] };
  return { ...schema, fields: edit(schema.fields) };
}

const withStudio = item((f) => [
  ...f,
  { name: 'studio', type: 'string', default: 'unknown', doc: 'Studio.' },
]);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );
}

export function registryContract(backEnd: string, open: () => Promise<OpenedRegistry>): void {
  describe(`SchemaRegistry contract: ${backEnd}`, () => {
    let opened: OpenedRegistry;
    let registry: SchemaRegistry;
    // Each test uses its own subjects, so one registry serves the whole suite.
    let n = 0;
    const subject = () => `contract.s${++n}-value`;

    before(async () => {
      opened = await open();
      registry = opened.registry;
    });
    after(async () => opened.dispose());

    test('register returns an id that getById resolves to the same schema', async () => {
      const s = subject();
      const id = await registry.register(s, item());
      assert.ok(Number.isInteger(id) && id > 0);
      assert.deepEqual(JSON.parse(await registry.getById(id)), item());
    });

    test('registering the same schema again is idempotent, whatever its whitespace', async () => {
      const s = subject();
      const id = await registry.register(s, item());
      assert.equal(await registry.register(s, item()), id);
      assert.equal(await registry.register(s, JSON.stringify(item(), null, 4)), id);
      assert.deepEqual(await registry.listVersions(s), [1]);
    });

    test('one schema under two subjects has one id', async () => {
      const a = await registry.register(subject(), withStudio);
      const b = await registry.register(subject(), withStudio);
      assert.equal(a, b);
    });

    test('versions, latest, lookup and subjects', async () => {
      const s = subject();
      const v1 = await registry.register(s, item());
      const v2 = await registry.register(s, withStudio);
      assert.notEqual(v1, v2);
      assert.deepEqual(await registry.listVersions(s), [1, 2]);
      const latest = await registry.getLatest(s);
      assert.deepEqual(
        { ...latest, schema: JSON.parse(latest.schema) },
        { subject: s, version: 2, id: v2, schema: withStudio },
      );
      const first = await registry.getVersion(s, 1);
      assert.equal(first.id, v1);
      assert.deepEqual(JSON.parse(first.schema), item());
      assert.equal((await registry.lookup(s, item()))?.version, 1);
      assert.equal((await registry.lookup(s, withStudio))?.id, v2);
      assert.equal(
        await registry.lookup(
          s,
          item((f) => f.slice(1)),
        ),
        undefined,
      );
      assert.equal(await registry.lookup('contract.never-value', item()), undefined);
      const subjects = await registry.listSubjects();
      assert.ok(subjects.includes(s));
      assert.deepEqual(subjects, [...subjects].sort());
      // Re-registering an older version returns its id and adds nothing.
      assert.equal(await registry.register(s, item()), v1);
      assert.deepEqual(await registry.listVersions(s), [1, 2]);
    });

    test('missing ids, subjects and versions say which', async () => {
      const s = subject();
      await registry.register(s, item());
      const byId = await rejection(registry.getById(987_654));
      assert.ok(byId instanceof SchemaNotFoundError && byId.missing === 'schema', String(byId));
      // Called one at a time: a second call made up front could reject before anything awaits it.
      for (const call of [
        () => registry.getLatest('contract.none-value'),
        () => registry.listVersions('contract.none-value'),
      ]) {
        const err = await rejection(call());
        assert.ok(err instanceof SchemaNotFoundError && err.missing === 'subject', String(err));
      }
      const version = await rejection(registry.getVersion(s, 7));
      assert.ok(version instanceof SchemaNotFoundError && version.missing === 'version', String(version));
    });

    test('an invalid schema is refused as such', async () => {
      const s = subject();
      for (const bad of [
        '{"type": "record"',
        { type: 'record', name: 'X', fields: [{ name: 'a', type: 'nope' }] },
      ]) {
        const err = await rejection(registry.register(s, bad));
        assert.ok(err instanceof InvalidSchemaError, String(err));
      }
      await assert.rejects(registry.listVersions(s), SchemaNotFoundError);
    });

    test('BACKWARD by default: an added field without a default is refused, naming it', async () => {
      const s = subject();
      assert.equal(await registry.getCompatibility(s), 'BACKWARD');
      await registry.register(s, item());
      await registry.register(s, withStudio);
      const v3 = item((f) => [...f, { name: 'budget', type: 'long', doc: 'Budget.' }]);
      const err = await rejection(registry.register(s, v3));
      assert.ok(err instanceof IncompatibleSchemaError, String(err));
      assert.match(
        err.message,
        new RegExp(
          `${s} v3 is not BACKWARD compatible with v2: field 'budget' has no default and is missing from the writer schema`,
        ),
      );
      assert.equal(err.field, 'budget');
      assert.deepEqual(await registry.listVersions(s), [1, 2], 'nothing was registered');
      const report = await registry.checkCompatibility(s, v3);
      assert.equal(report.compatible, false);
      assert.match(report.messages.join('\n'), /field 'budget'/);
      assert.deepEqual(await registry.checkCompatibility(s, withStudio), { compatible: true, messages: [] });
    });

    test('a type change is refused, naming the field and both types', async () => {
      const s = subject();
      await registry.register(s, item());
      const changed = item((f) => f.map((x) => (x.name === 'title' ? { ...x, type: 'int' } : x)));
      const err = await rejection(registry.register(s, changed));
      assert.ok(err instanceof IncompatibleSchemaError);
      assert.match(err.message, /field 'title' changed from string to int/);
    });

    test('per-subject levels: NONE, FORWARD, FULL_TRANSITIVE', async () => {
      const s = subject();
      await registry.register(s, item());
      await registry.setCompatibility(s, 'FORWARD');
      assert.equal(await registry.getCompatibility(s), 'FORWARD');
      const withoutTitle = item((f) => f.filter((x) => x.name !== 'title'));
      await assert.rejects(registry.register(s, withoutTitle), /field 'title' was removed/);
      await registry.setCompatibility(s, 'NONE');
      assert.equal(await registry.getCompatibility(s), 'NONE');
      await registry.register(s, withoutTitle);
      assert.deepEqual(await registry.listVersions(s), [1, 2]);

      const t = subject();
      await registry.setCompatibility(t, 'FULL_TRANSITIVE');
      await registry.register(t, item());
      const rank = (d?: number) =>
        item((f) => [
          ...f,
          { name: 'rank', type: 'int', doc: 'Rank.', ...(d === undefined ? {} : { default: d }) },
        ]);
      await registry.register(t, rank(0));
      await assert.rejects(
        registry.register(t, rank()),
        /not FULL_TRANSITIVE compatible with v1: field 'rank'/,
      );
    });

    test('the default level applies to subjects without their own', async () => {
      const s = subject();
      const before = await registry.getDefaultCompatibility();
      assert.equal(before, 'BACKWARD');
      try {
        await registry.setDefaultCompatibility('NONE');
        assert.equal(await registry.getDefaultCompatibility(), 'NONE');
        assert.equal(await registry.getCompatibility(s), 'NONE');
        await registry.register(s, item());
        await registry.register(
          s,
          item((f) => [...f, { name: 'budget', type: 'long', doc: 'Budget.' }]),
        );
      } finally {
        await registry.setDefaultCompatibility(before);
      }
      assert.equal(await registry.getCompatibility(s), 'BACKWARD');
    });
  });
}
