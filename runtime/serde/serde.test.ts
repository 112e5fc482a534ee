import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Interaction } from '../../schemas/generated/types.js';
import { latestSchemaVersion, loadSchema, SUBJECTS } from '../../schemas/index.js';
import { platformSerde } from '../../schemas/platform.js';
import {
  ConnectionError,
  DeserializationError,
  SchemaNotFoundError,
  SchemaValidationError,
} from '../errors.js';
import { openEmbeddedRegistry } from '../registry/embedded/embedded-registry.js';
import type { SchemaRegistry } from '../registry/registry.js';
import { parseAvroType } from './avro.js';

const fixtureUrl = (subject: string, version: number) =>
  new URL(`../../schemas/${subject}/fixtures/v${version}.json`, import.meta.url);

/** The fixture of the subject's newest version: what a serde encodes with today. */
async function fixtureValue(subject: string): Promise<unknown> {
  const version = latestSchemaVersion(subject);
  return parseAvroType(loadSchema(subject, version)).fromString(
    await readFile(fixtureUrl(subject, version), 'utf8'),
  );
}

const interaction: Interaction = {
  event_id: 'e1',
  user_id: 'u1',
  item_id: 'i1',
  type: 'click',
  value: null,
  watch_ms: null,
  ts: 1_735_689_600_000,
  context: { device: 'web', country: null, session_id: null, surface: 'home', request_id: null },
};

/** A private copy of the shipped Item schema, changed by `edit`, under its own subject. */
function itemSchema(edit: (fields: Record<string, unknown>[]) => void): Record<string, unknown> {
  const schema = structuredClone(loadSchema('rec.items-value', 1)) as { fields: Record<string, unknown>[] };
  edit(schema.fields);
  return schema;
}

let dir: string;
let registry: SchemaRegistry;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstream-serde-'));
  registry = await openEmbeddedRegistry({ dataDir: dir });
});

after(async () => {
  await registry.close();
  await rm(dir, { recursive: true, force: true });
});

describe('round trips', () => {
  for (const subject of SUBJECTS) {
    test(`${subject}: the fixture value survives encode and decode`, async () => {
      const serde = platformSerde(registry);
      const value = await fixtureValue(subject);
      const bytes = await serde.serialize(subject, value as never);
      assert.deepEqual(await serde.deserialize(subject, bytes), value);
    });
  }

  test('the bytes are Confluent wire format: magic 0, big-endian schema id, Avro body', async () => {
    const serde = platformSerde(registry);
    const encoder = await serde.encoder('rec.interactions-value');
    const bytes = encoder.encode(interaction);
    assert.equal(bytes[0], 0);
    assert.equal(bytes.readUInt32BE(1), encoder.schemaId);
    assert.equal((await registry.getLatest('rec.interactions-value')).id, encoder.schemaId);
    const body = parseAvroType(loadSchema('rec.interactions-value')).toBuffer(interaction);
    assert.deepEqual(bytes.subarray(5), body);
  });

  test('decodeSync reads ids that were prepared and refuses others', async () => {
    const serde = platformSerde(registry);
    const bytes = await serde.serialize('rec.interactions-value', interaction);
    const decoder = await serde.decoder('rec.interactions-value');
    assert.throws(() => decoder.decodeSync(bytes), SchemaNotFoundError);
    await decoder.prepare([bytes, null, Buffer.from('junk')]);
    assert.deepEqual({ ...(decoder.decodeSync(bytes) as object) }, { ...interaction });
  });

  test('values larger than the scratch buffer encode correctly', async () => {
    const serde = platformSerde(registry);
    const big = { ...interaction, event_id: 'x'.repeat(100_000) };
    const bytes = await serde.serialize('rec.interactions-value', big);
    assert.equal((await serde.deserialize('rec.interactions-value', bytes)).event_id.length, 100_000);
  });
});

describe('evolution', () => {
  const subject = 'evolution.items-value';
  const v1 = itemSchema(() => undefined);
  const v2 = itemSchema((fields) =>
    fields.push({ name: 'studio', type: 'string', default: 'unknown', doc: 'Producing studio.' }),
  );
  const item = {
    item_id: 'i1',
    title: 'T',
    categories: ['drama'],
    tags: [],
    language: null,
    duration_s: 90,
    release_ts: null,
    maturity: 'all',
    available: true,
    updated_ts: 1,
  };

  test('records written under v1 are read by a v2 reader, which sees the default', async () => {
    const writer = platformSerde(registry, { schemas: { [subject]: v1 } });
    const reader = platformSerde(registry, { schemas: { [subject]: v2 } });
    const oldBytes = await writer.serialize(subject, item);
    const newBytes = await reader.serialize(subject, { ...item, studio: 'Ghibli' });
    assert.notEqual(oldBytes.readUInt32BE(1), newBytes.readUInt32BE(1), 'v2 has its own id');
    assert.deepEqual(await registry.listVersions(subject), [1, 2]);
    const read = (await reader.deserialize(subject, oldBytes)) as Record<string, unknown>;
    assert.equal(read.studio, 'unknown');
    assert.equal(read.title, 'T');
    const readNew = (await reader.deserialize(subject, newBytes)) as Record<string, unknown>;
    assert.equal(readNew.studio, 'Ghibli');
  });

  test('a v1 reader reads v2 records, dropping the field it does not know', async () => {
    const v1Reader = platformSerde(registry, { schemas: { [subject]: v1 } });
    const v2Writer = platformSerde(registry, { schemas: { [subject]: v2 } });
    const bytes = await v2Writer.serialize(subject, { ...item, studio: 'Aardman' });
    const read = (await v1Reader.deserialize(subject, bytes)) as Record<string, unknown>;
    assert.equal(read.studio, undefined);
    assert.equal(read.item_id, 'i1');
  });

  test('an encoder whose incompatible schema the registry refuses fails with the field named', async () => {
    const v3 = itemSchema((fields) => fields.push({ name: 'budget', type: 'long', doc: 'Budget in cents.' }));
    const serde = platformSerde(registry, { schemas: { [subject]: v3 } });
    await assert.rejects(
      serde.encoder(subject),
      /field 'budget' has no default and is missing from the writer schema/,
    );
  });

  test('with autoRegister off, an unregistered schema is refused and a registered one is found', async () => {
    const other = itemSchema((fields) => fields.pop());
    const strict = platformSerde(registry, {
      schemas: { [subject]: other, 'evolution.items2-value': v1 },
      autoRegister: false,
    });
    await assert.rejects(strict.encoder(subject), SchemaNotFoundError);
    await registry.register('evolution.items2-value', v1);
    const encoder = await strict.encoder('evolution.items2-value');
    assert.equal(encoder.schemaId, (await registry.lookup('evolution.items2-value', v1))?.id);
  });
});

describe('bad bytes', () => {
  async function decodeError(bytes: Buffer): Promise<DeserializationError> {
    const serde = platformSerde(registry);
    const err = await serde.deserialize('rec.interactions-value', bytes).then(
      () => assert.fail('decoded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DeserializationError, `expected DeserializationError, got ${String(err)}`);
    return err;
  }

  async function goodBytes(): Promise<Buffer> {
    return platformSerde(registry).serialize('rec.interactions-value', interaction);
  }

  test('garbage that is not wire format names the magic byte', async () => {
    const err = await decodeError(Buffer.from('{"user_id":"u1"}'));
    assert.match(
      err.message,
      /starts with byte 0x7b, not the Confluent wire-format magic byte 0x00.*looks like JSON/,
    );
  });

  test('too short for the header', async () => {
    assert.match(
      (await decodeError(Buffer.from([0, 0, 1]))).message,
      /3 bytes, too short for the Confluent wire format/,
    );
    assert.match((await decodeError(Buffer.alloc(0))).message, /0 bytes, too short/);
  });

  test('an unknown schema id', async () => {
    const bytes = Buffer.from(await goodBytes());
    bytes.writeUInt32BE(987_654, 1);
    assert.match((await decodeError(bytes)).message, /unknown schema id 987654/);
  });

  test('a truncated body', async () => {
    const bytes = await goodBytes();
    const err = await decodeError(bytes.subarray(0, bytes.length - 3));
    assert.match(err.message, /truncated Avro body for rec.interactions-value/);
  });

  test('trailing bytes after the body', async () => {
    const err = await decodeError(Buffer.concat([await goodBytes(), Buffer.from([1, 2])]));
    assert.match(err.message, /2 trailing bytes after the Avro body/);
  });

  test('a corrupt body (an enum index out of range)', async () => {
    const bytes = await goodBytes();
    const corrupt = Buffer.from(bytes);
    const typeAt = 5 + 3 * 3; // the header, then 'e1', 'u1', 'i1' as a length byte and two characters each
    corrupt[typeAt] = 0x7e; // zig-zag 63: no such InteractionType symbol
    const err = await decodeError(corrupt);
    assert.match(err.message, /corrupt Avro body for rec.interactions-value \(schema id \d+\)/);
  });

  test('an array whose item count is corrupt fails at once as truncated, not after billions of reads', {
    timeout: 60_000,
  }, async () => {
    const serde = platformSerde(registry);
    const item = {
      item_id: 'i1',
      title: 't',
      categories: [],
      tags: ['x'],
      language: null,
      duration_s: null,
      release_ts: null,
      maturity: 'all' as const,
      available: true,
      updated_ts: 1,
    };
    const bytes = await serde.serialize('rec.items-value', item);
    const categoriesAt = 5 + 3 + 2; // the header, then 'i1' and 't' as a length byte and their characters
    assert.equal(bytes[categoriesAt], 0, 'an empty array is one zero count');
    // Zig-zag 2^31 - 1 items, as a flipped bit of a longer count can make it.
    const huge = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f]);
    const corrupt = Buffer.concat([bytes.subarray(0, categoriesAt), huge, bytes.subarray(categoriesAt + 1)]);
    const err = await serde.deserialize('rec.items-value', corrupt).then(
      () => assert.fail('decoded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DeserializationError, String(err));
    assert.match(err.message, /truncated Avro body for rec.items-value/);
    assert.deepEqual(await serde.deserialize('rec.items-value', bytes), item);
  });

  test('a registry that cannot be reached is not the record’s fault', async () => {
    const down: SchemaRegistry = Object.assign(Object.create(registry), {
      getById: () => Promise.reject(new ConnectionError('registry down')),
    });
    const bytes = Buffer.from(await goodBytes());
    bytes.writeUInt32BE(4242, 1);
    await assert.rejects(platformSerde(down).deserialize('rec.interactions-value', bytes), ConnectionError);
  });
});

describe('validation', () => {
  test('every offending field is named with a reason', async () => {
    const serde = platformSerde(registry);
    const bad = {
      event_id: 'e1',
      item_id: 42,
      type: 'bookmark',
      value: 'high',
      watch_ms: 1.5,
      ts: 1_735_689_600_000,
      context: { device: 7, country: null, session_id: null, surface: null, request_id: null, extra: true },
      watchMs: 3,
    };
    const err = await serde.serialize('rec.interactions-value', bad as never).then(
      () => assert.fail('encoded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SchemaValidationError);
    const byPath = Object.fromEntries(err.fields.map((f) => [f.path, f.reason]));
    assert.deepEqual(Object.keys(byPath).sort(), [
      'context.device',
      'context.extra',
      'item_id',
      'type',
      'user_id',
      'value',
      'watchMs',
      'watch_ms',
    ]);
    assert.match(byPath.user_id!, /^missing \(expected string\)/);
    assert.match(byPath.item_id!, /expected string, got number 42/);
    assert.match(
      byPath.type!,
      /"bookmark" is not a symbol of rec.InteractionType \(expected one of impression, view/,
    );
    assert.match(byPath.value!, /expected null or double, got string "high"/);
    assert.match(byPath.watch_ms!, /expected long \(a safe integer\), got 1.5/);
    assert.match(byPath['context.device']!, /expected null or string, got number 7/);
    assert.match(byPath['context.extra']!, /is not a field of rec.InteractionContext/);
    assert.match(byPath.watchMs!, /is not a field of rec.Interaction/);
    for (const path of Object.keys(byPath)) assert.ok(err.message.includes(path), `message names ${path}`);
  });

  test('a key named after an Object.prototype property is refused and named, not encoded', async () => {
    const serde = platformSerde(registry);
    for (const key of ['__proto__', 'constructor', 'toString', 'prototype']) {
      const value = JSON.parse(`{${JSON.stringify(interaction).slice(1, -1)},"${key}":{"x":1}}`);
      const err = await serde.serialize('rec.interactions-value', value).then(
        () => assert.fail(`${key}: encoded`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SchemaValidationError, key);
      assert.deepEqual(
        err.fields.map((f) => [f.path, f.reason]),
        [[key, 'is not a field of rec.Interaction']],
      );
    }
  });

  test('paths go through arrays and maps', async () => {
    const serde = platformSerde(registry);
    const value = (await fixtureValue('rec.model-versions-value')) as Record<string, unknown>;
    const bad = {
      ...value,
      artifacts: [
        { name: 'a', uri: 'file:///a', sha256: 'x', size_bytes: 1 },
        { name: 'b', uri: 7, sha256: 'y' },
      ],
      metrics: { recall_at_20: 0.3, ndcg: 'n/a' },
    };
    const err = await serde.serialize('rec.model-versions-value', bad as never).then(
      () => assert.fail('encoded'),
      (e: unknown) => e as SchemaValidationError,
    );
    assert.deepEqual(err.fields.map((f) => f.path).sort(), [
      'artifacts[1].size_bytes',
      'artifacts[1].uri',
      'metrics["ndcg"]',
    ]);
  });
});
