import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import avro from 'avsc';
import { DeserializationError, StateStoreError } from '../../errors.js';
import { avroCodec, jsonCodec, numberCodec, stableStringify, stringCodec } from './index.js';

describe('jsonCodec', () => {
  test('equal values give equal bytes whatever their key order, at every depth', () => {
    const codec = jsonCodec<unknown>();
    const a = codec.encode({ b: 1, a: { y: [1, { q: 1, p: 2 }], x: null } });
    const b = codec.encode({ a: { x: null, y: [1, { p: 2, q: 1 }] }, b: 1 });
    assert.deepEqual(a, b);
    assert.equal(a.toString(), '{"a":{"x":null,"y":[1,{"p":2,"q":1}]},"b":1}');
    assert.deepEqual(codec.decode(a), { a: { x: null, y: [1, { p: 2, q: 1 }] }, b: 1 });
  });

  test('follows JSON.stringify for undefined, non-finite numbers and toJSON', () => {
    const value = {
      u: undefined,
      f: () => 1,
      n: Number.NaN,
      i: Number.POSITIVE_INFINITY,
      arr: [undefined],
      d: new Date(0),
      s: 'é"\n',
    };
    assert.equal(
      stableStringify(value),
      JSON.stringify({ arr: [null], d: new Date(0), i: null, n: null, s: 'é"\n' }),
    );
  });

  test('refuses values JSON cannot represent', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => stableStringify(cyclic), StateStoreError);
    assert.throws(() => stableStringify({ big: 1n }), StateStoreError);
    assert.throws(() => stableStringify(undefined), StateStoreError);
  });

  test('a shared (non-cyclic) sub-object is written twice', () => {
    const shared = { z: 1 };
    assert.equal(stableStringify({ a: shared, b: shared }), '{"a":{"z":1},"b":{"z":1}}');
  });
});

describe('numberCodec', () => {
  test('writes 8-byte big-endian doubles and reads them back', () => {
    for (const n of [
      0,
      -0,
      1,
      -1.5,
      2 ** 53 + 2,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      Number.NEGATIVE_INFINITY,
    ]) {
      const bytes = numberCodec.encode(n);
      assert.equal(bytes.length, 8);
      assert.ok(Object.is(numberCodec.decode(bytes), n));
    }
    assert.deepEqual(numberCodec.encode(1), Buffer.from('3ff0000000000000', 'hex'));
  });

  test('every NaN has the same bytes', () => {
    const weird = Buffer.from('7ff8000000000001', 'hex').readDoubleBE(0);
    assert.deepEqual(numberCodec.encode(weird), numberCodec.encode(Number.NaN));
  });

  test('refuses bytes of the wrong length', () => {
    assert.throws(() => numberCodec.decode(Buffer.alloc(4)), DeserializationError);
  });
});

describe('stringCodec', () => {
  test('round-trips UTF-8', () => {
    for (const s of ['', 'plain', 'héllo', '\u{1F600}'])
      assert.equal(stringCodec.decode(stringCodec.encode(s)), s);
    assert.deepEqual(stringCodec.encode('é'), Buffer.from([0xc3, 0xa9]));
  });
});

describe('avroCodec', () => {
  const schema: avro.Schema = {
    type: 'record',
    name: 'Stats',
    fields: [
      { name: 'total', type: 'long' },
      { name: 'byType', type: { type: 'map', values: 'long' } },
      {
        name: 'nested',
        type: ['null', { type: 'map', values: { type: 'map', values: 'int' } }],
        default: null,
      },
      { name: 'list', type: { type: 'array', items: { type: 'map', values: 'string' } } },
    ],
  };

  test('maps are written with sorted keys at every depth, so equal values give equal bytes', () => {
    const codec = avroCodec<Record<string, unknown>>(schema);
    const a = codec.encode({
      total: 2,
      byType: { view: 1, click: 1 },
      nested: { y: { b: 1, a: 2 }, x: {} },
      list: [{ q: '1', p: '2' }],
    });
    const b = codec.encode({
      total: 2,
      byType: { click: 1, view: 1 },
      nested: { x: {}, y: { a: 2, b: 1 } },
      list: [{ p: '2', q: '1' }],
    });
    assert.deepEqual(a, b);
    assert.deepEqual(
      { ...codec.decode(a) },
      {
        total: 2,
        byType: { click: 1, view: 1 },
        nested: { x: {}, y: { a: 2, b: 1 } },
        list: [{ p: '2', q: '1' }],
      },
    );
  });

  test('wrapped unions and schemas without maps encode as avsc does', () => {
    const wrapped = avro.Type.forSchema(['null', { type: 'map', values: 'int' }], { wrapUnions: true });
    const codec = avroCodec<unknown>(wrapped);
    assert.deepEqual(codec.encode({ map: { b: 1, a: 2 } }), wrapped.toBuffer({ map: { a: 2, b: 1 } }));
    const plain = avro.Type.forSchema({
      type: 'record',
      name: 'P',
      fields: [{ name: 'id', type: 'string' }],
    });
    assert.deepEqual(avroCodec(plain).encode({ id: 'x' }), plain.toBuffer({ id: 'x' }));
  });

  test('invalid values and bytes are reported as errors', () => {
    const codec = avroCodec<Record<string, unknown>>(schema);
    assert.throws(() => codec.encode({ total: 'no' }), StateStoreError);
    assert.throws(() => codec.decode(Buffer.from([0xff])), DeserializationError);
  });
});
