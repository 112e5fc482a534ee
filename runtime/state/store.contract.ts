/**
 * The contract every StoreEngine passes, together with the typed cached
 * stores over it: byte-level reads, atomic writes, ordered bounded scans,
 * and the store semantics processors rely on (pending writes visible to get
 * and range, key order, limits, persistence across reopen, cache eviction).
 * Commits here go straight to the engine; the changelog side of a commit is
 * covered by the TaskState tests.
 *
 * @example
 * ```ts
 * runStoreContract('memory', { persistent: false, open: async () => ({ engine: new MemoryEngine(), reopen: ... }) });
 * ```
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StateStoreError } from '../errors.js';
import { CachedStore } from './cached-store.js';
import { jsonCodec } from './codecs/json-codec.js';
import { numberCodec } from './codecs/number-codec.js';
import { stringCodec } from './codecs/string-codec.js';
import { digestStore } from './digest.js';
import { storePrefix } from './keys.js';
import type { StoreEngine, ValueCodec } from './store.js';

export interface EngineFactory {
  /** Whether data survives `close()` + `reopen()`. */
  readonly persistent: boolean;
  /** A fresh, empty engine, a way to reopen it after close (same data for persistent engines), and a cleanup. */
  open(): Promise<{ engine: StoreEngine; reopen: () => Promise<StoreEngine>; cleanup: () => Promise<void> }>;
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Commits the pending writes of `stores` to the engine in one write, as TaskState does minus the changelog. */
export async function commitStores(
  engine: StoreEngine,
  stores: readonly CachedStore<unknown>[],
): Promise<void> {
  for (const store of stores) store.beginFlush();
  const writes = stores.map((store) => store.flushWrites());
  await engine.write(writes.flat().map((w) => ({ key: w.engineKey, value: w.value })));
  for (const store of stores) store.completeFlush(0);
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export function runStoreContract(name: string, factory: EngineFactory): void {
  async function withEngine(
    body: (engine: StoreEngine, reopen: () => Promise<StoreEngine>) => Promise<void>,
  ): Promise<void> {
    const { engine, reopen, cleanup } = await factory.open();
    let current = engine;
    try {
      await body(engine, async () => {
        current = await reopen();
        return current;
      });
    } finally {
      await current.close().catch(() => undefined);
      await cleanup();
    }
  }

  function store<V>(
    engine: StoreEngine,
    storeName: string,
    codec: ValueCodec<V>,
    cacheEntries = 1000,
  ): CachedStore<V> {
    return new CachedStore(storeName, engine, codec, cacheEntries, 0);
  }

  describe(`store contract: ${name} engine`, () => {
    test('get, getMany and write: later writes win, null deletes', () =>
      withEngine(async (engine) => {
        assert.equal(await engine.get(b('a')), undefined);
        await engine.write([
          { key: b('a'), value: b('1') },
          { key: b('b'), value: b('2') },
          { key: b('a'), value: b('3') },
        ]);
        assert.deepEqual(await engine.get(b('a')), b('3'));
        assert.deepEqual(await engine.getMany([b('b'), b('x'), b('a')]), [b('2'), undefined, b('3')]);
        assert.deepEqual(await engine.getMany([]), []);
        await engine.write([
          { key: b('a'), value: null },
          { key: b('c'), value: b('4') },
        ]);
        assert.equal(await engine.get(b('a')), undefined);
        assert.deepEqual(await engine.get(b('c')), b('4'));
      }));

    test('iterate in byte order within [gte, lt), with limit, and count', () =>
      withEngine(async (engine) => {
        const keys = [Buffer.from([0x61, 0xff]), b('a'), b('ab'), b('b'), Buffer.from([0x61, 0x00]), b('c')];
        await engine.write(keys.map((key, i) => ({ key, value: Buffer.from([i]) })));
        const all = (await collect(engine.iterate({}))).map(([k]) => k.toString('hex'));
        assert.deepEqual(all, ['61', '6100', '6162', '61ff', '62', '63']);
        const bounded = (await collect(engine.iterate({ gte: b('ab'), lt: b('c') }))).map(([k]) =>
          k.toString('hex'),
        );
        assert.deepEqual(bounded, ['6162', '61ff', '62']);
        const limited = (await collect(engine.iterate({ gte: b('a'), limit: 2 }))).map(([k]) =>
          k.toString('hex'),
        );
        assert.deepEqual(limited, ['61', '6100']);
        const [first] = await collect(engine.iterate({ gte: b('b'), lt: b('c') }));
        assert.deepEqual(first, [b('b'), Buffer.from([3])]);
        assert.equal(await engine.count({}), 6);
        assert.equal(await engine.count({ gte: b('a'), lt: b('b') }), 4);
      }));

    test('breaking out of a scan releases it; the engine stays usable', () =>
      withEngine(async (engine) => {
        await engine.write(
          Array.from({ length: 50 }, (_, i) => ({ key: b(`k${String(i).padStart(2, '0')}`), value: b('v') })),
        );
        for await (const [key] of engine.iterate({})) if (key.toString() === 'k03') break;
        assert.equal((await collect(engine.iterate({ gte: b('k48') }))).length, 2);
      }));

    test('clearRange deletes exactly [gte, lt)', () =>
      withEngine(async (engine) => {
        await engine.write(['a', 'b', 'ba', 'c'].map((k) => ({ key: b(k), value: b(k) })));
        await engine.clearRange(b('b'), b('c'));
        assert.deepEqual(
          (await collect(engine.iterate({}))).map(([k]) => k.toString()),
          ['a', 'c'],
        );
      }));

    test('use after close is a StateStoreError', () =>
      withEngine(async (engine) => {
        await engine.close();
        await assert.rejects(async () => engine.get(b('a')), StateStoreError);
        await assert.rejects(async () => engine.write([{ key: b('a'), value: b('1') }]), StateStoreError);
      }));

    if (factory.persistent) {
      test('written data survives close and reopen', () =>
        withEngine(async (engine, reopen) => {
          await engine.write([{ key: b('k'), value: b('v') }]);
          await engine.close();
          const again = await reopen();
          assert.deepEqual(await again.get(b('k')), b('v'));
        }));
    }
  });

  describe(`store contract: ${name} typed stores`, () => {
    test('get, put and delete read back pending and committed values', () =>
      withEngine(async (engine) => {
        const counts = store(engine, 'counts', numberCodec);
        assert.equal(await counts.get('u1'), undefined);
        counts.put('u1', 1);
        counts.put('u2', 2);
        assert.equal(await counts.get('u1'), 1);
        await commitStores(engine, [counts as CachedStore<unknown>]);
        assert.equal(await counts.get('u1'), 1);
        counts.put('u1', 5);
        counts.delete('u2');
        assert.equal(await counts.get('u1'), 5);
        assert.equal(await counts.get('u2'), undefined);
        await commitStores(engine, [counts as CachedStore<unknown>]);
        const fresh = store(engine, 'counts', numberCodec);
        assert.equal(await fresh.get('u1'), 5);
        assert.equal(await fresh.get('u2'), undefined);
      }));

    test('stores of one engine keep separate key spaces', () =>
      withEngine(async (engine) => {
        const a = store(engine, 'a', stringCodec);
        const ab = store(engine, 'a/b', stringCodec);
        a.put('k', 'from a');
        ab.put('k', 'from a/b');
        ab.put('z', 'only a/b');
        await commitStores(engine, [a, ab] as CachedStore<unknown>[]);
        assert.deepEqual(await collect(store(engine, 'a', stringCodec).range()), [['k', 'from a']]);
        assert.equal(await store(engine, 'a/b', stringCodec).get('k'), 'from a/b');
      }));

    test('range merges pending writes and deletes with committed entries in key order', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', stringCodec);
        for (const k of ['b', 'd', 'f', 'h']) s.put(k, `committed ${k}`);
        await commitStores(engine, [s as CachedStore<unknown>]);
        s.put('a', 'new a');
        s.put('d', 'changed d');
        s.delete('f');
        s.put('g', 'new g');
        s.delete('zz');
        assert.deepEqual(await collect(s.range()), [
          ['a', 'new a'],
          ['b', 'committed b'],
          ['d', 'changed d'],
          ['g', 'new g'],
          ['h', 'committed h'],
        ]);
      }));

    test('range honours gte, lt and limit, also when pending deletes hide entries', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', numberCodec);
        for (let i = 0; i < 20; i++) s.put(`k${String(i).padStart(2, '0')}`, i);
        await commitStores(engine, [s as CachedStore<unknown>]);
        s.delete('k05');
        s.delete('k06');
        s.put('k055', 55);
        const keys = async (range: Parameters<typeof s.range>[0]) =>
          (await collect(s.range(range))).map(([k]) => k);
        assert.deepEqual(await keys({ gte: 'k04', lt: 'k08' }), ['k04', 'k055', 'k07']);
        assert.deepEqual(await keys({ gte: 'k04', limit: 3 }), ['k04', 'k055', 'k07']);
        assert.deepEqual(await keys({ lt: 'k02' }), ['k00', 'k01']);
        assert.deepEqual(await keys({ gte: 'k18' }), ['k18', 'k19']);
        assert.deepEqual(await keys({ limit: 0 }), []);
        assert.deepEqual(await keys({ gte: 'k10', lt: 'k10' }), []);
      }));

    test('range orders keys by their UTF-8 bytes, not by UTF-16 code units', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', numberCodec);
        const keys = ['z', '\u{1F600}', '\uFFFD', 'é', 'a'];
        s.put(keys[0] as string, 0);
        s.put(keys[1] as string, 1);
        await commitStores(engine, [s as CachedStore<unknown>]);
        for (let i = 2; i < keys.length; i++) s.put(keys[i] as string, i);
        const expected = [...keys].sort((x, y) => Buffer.compare(b(x), b(y)));
        assert.deepEqual(
          (await collect(s.range())).map(([k]) => k),
          expected,
        );
        assert.deepEqual(
          (await collect(s.range({ gte: '\uFFFD' }))).map(([k]) => k),
          ['\uFFFD', '\u{1F600}'],
        );
      }));

    test('breaking out of range early leaves the store usable', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', numberCodec);
        for (let i = 0; i < 10; i++) s.put(`k${i}`, i);
        await commitStores(engine, [s as CachedStore<unknown>]);
        for await (const [key] of s.range()) if (key === 'k2') break;
        assert.equal(await s.get('k9'), 9);
      }));

    test('a small cache evicts without losing or mixing up values', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', jsonCodec<{ n: number }>(), 2);
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < 200; i++) {
            const key = `k${i}`;
            const current = (await s.get(key)) ?? { n: 0 };
            s.put(key, { n: current.n + i });
          }
          await commitStores(engine, [s as CachedStore<unknown>]);
        }
        for (let i = 0; i < 200; i += 7) assert.deepEqual(await s.get(`k${i}`), { n: 3 * i });
        s.delete('k7');
        await commitStores(engine, [s as CachedStore<unknown>]);
        assert.equal(await s.get('k7'), undefined);
        assert.equal((await collect(s.range())).length, 199);
      }));

    test('a cache of size zero reads through to the engine', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', numberCodec, 0);
        s.put('a', 1);
        await commitStores(engine, [s as CachedStore<unknown>]);
        assert.equal(await s.get('a'), 1);
        assert.equal(await s.get('b'), undefined);
      }));

    test('a key index answers absent keys and follows commits', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', numberCodec, 0);
        s.trackKeys(new Set());
        s.put('a', 1);
        s.put('b', 2);
        await commitStores(engine, [s as CachedStore<unknown>]);
        assert.equal(await s.get('a'), 1);
        assert.equal(await s.get('zz'), undefined);
        s.delete('a');
        await commitStores(engine, [s as CachedStore<unknown>]);
        assert.equal(await s.get('a'), undefined);
        const cached = store(engine, 'kv', numberCodec);
        cached.trackKeys(new Set(['b']));
        assert.equal(cached.needsLoad('b'), true);
        assert.equal(cached.needsLoad('a'), false);
        s.beginFlush();
        assert.deepEqual(s.flushWrites(), []);
        s.abortFlush();
        s.put('b', 3);
        s.put('c', 3);
        s.beginFlush();
        assert.deepEqual(
          s.flushWrites().map((w) => [w.key, w.existed]),
          [
            ['b', true],
            ['c', false],
          ],
        );
        s.abortFlush();
      }));

    test('prefetched values are served from the cache', () =>
      withEngine(async (engine) => {
        const writer = store(engine, 'kv', numberCodec);
        writer.put('a', 1);
        await commitStores(engine, [writer as CachedStore<unknown>]);
        const s = store(engine, 'kv', numberCodec);
        const generation = s.cacheGeneration();
        s.fill('a', numberCodec.encode(1), generation);
        s.fill('b', undefined, generation);
        assert.equal(s.needsLoad('a'), false);
        assert.equal(s.needsLoad('b'), false);
        await engine.write([
          { key: Buffer.concat([writer.prefix, Buffer.from('b')]), value: numberCodec.encode(7) },
        ]);
        // Served from the cache, which was right as of the prefetch.
        assert.equal(await s.get('b'), undefined);
        s.put('c', 5);
        s.fill('c', undefined, generation);
        assert.equal(await s.get('c'), 5);
      }));

    test('committed reads are decoded afresh and kept until a commit writes their key', () =>
      withEngine(async (engine) => {
        const json = jsonCodec<{ n: number }>();
        const s = store(engine, 'kv', json);
        s.put('a', { n: 1 });
        await commitStores(engine, [s as CachedStore<unknown>]);
        const [first, absent] = await s.readCommitted(['a', 'b']);
        assert.deepEqual([first, absent], [{ n: 1 }, undefined]);
        first!.n = 99;
        // Written behind the store's back: a kept read does not see it, which shows it was kept.
        await engine.write([
          { key: Buffer.concat([s.prefix, b('a')]), value: json.encode({ n: 7 }) },
          { key: Buffer.concat([s.prefix, b('b')]), value: json.encode({ n: 7 }) },
        ]);
        assert.deepEqual(await s.readCommitted(['a', 'b']), [{ n: 1 }, undefined]);
        s.put('a', { n: 2 });
        s.put('b', { n: 3 });
        assert.deepEqual(await s.readCommitted(['a', 'b']), [{ n: 1 }, undefined]);
        await commitStores(engine, [s as CachedStore<unknown>]);
        assert.deepEqual(await s.readCommitted(['a', 'b']), [{ n: 2 }, { n: 3 }]);
        s.delete('a');
        await commitStores(engine, [s as CachedStore<unknown>]);
        assert.deepEqual(await s.readCommitted(['a', 'b']), [undefined, { n: 3 }]);
      }));

    test('a committed read that a commit overtook is answered but not kept', () =>
      withEngine(async (engine) => {
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        // Reads the engine at once and answers only once released: a read a commit finishes behind.
        const slow: StoreEngine = {
          get: (key) => engine.get(key),
          getMany: async (keys) => {
            const values = await engine.getMany(keys);
            await held;
            return values;
          },
          write: (writes) => engine.write(writes),
          iterate: (range) => engine.iterate(range),
          count: (range) => engine.count(range),
          clearRange: (gte, lt) => engine.clearRange(gte, lt),
          close: () => engine.close(),
        };
        const s = store(slow, 'kv', numberCodec);
        s.put('a', 1);
        await commitStores(slow, [s as CachedStore<unknown>]);
        s.put('a', 2);
        const reading = s.readCommitted(['a']);
        await new Promise((resolve) => setTimeout(resolve, 10));
        await commitStores(slow, [s as CachedStore<unknown>]);
        release();
        assert.deepEqual(await reading, [1]);
        assert.deepEqual(await s.readCommitted(['a']), [2]);
      }));

    test('a failed commit makes its keys be read again', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', numberCodec);
        s.put('a', 1);
        await commitStores(engine, [s as CachedStore<unknown>]);
        assert.deepEqual(await s.readCommitted(['a']), [1]);
        s.put('a', 2);
        s.beginFlush();
        const writes = s.flushWrites();
        // The engine took the write, but the commit failed after it.
        await engine.write(writes.map((w) => ({ key: w.engineKey, value: w.value })));
        s.abortFlush();
        assert.deepEqual(await s.readCommitted(['a']), [2]);
      }));

    test('writes made while a commit is in flight belong to the next one; a failed commit keeps its writes pending', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', numberCodec);
        s.put('a', 1);
        s.put('b', 1);
        s.beginFlush();
        const flushing = s.flushWrites();
        s.put('a', 2);
        s.put('c', 3);
        assert.equal(await s.get('a'), 2);
        assert.equal(await s.get('b'), 1);
        assert.throws(() => s.beginFlush(), StateStoreError);
        s.abortFlush();
        assert.deepEqual(
          flushing.map((w) => w.key),
          ['a', 'b'],
        );
        await commitStores(engine, [s as CachedStore<unknown>]);
        const fresh = store(engine, 'kv', numberCodec);
        assert.deepEqual(await collect(fresh.range()), [
          ['a', 2],
          ['b', 1],
          ['c', 3],
        ]);
      }));

    test('bad keys and values are refused at put', () =>
      withEngine(async (engine) => {
        const s = store(engine, 'kv', numberCodec);
        assert.throws(() => s.put('\u0000commit', 1), StateStoreError);
        assert.throws(() => s.put('lone \uD800 surrogate', 1), StateStoreError);
        assert.throws(() => s.put('k', undefined as unknown as number), StateStoreError);
        s.put('', 0);
        assert.equal(await s.get(''), 0);
      }));

    test('equal contents digest equally, whatever order they were written in', () =>
      withEngine(async (engine) => {
        const one = store(engine, 'one', jsonCodec<Record<string, number>>());
        const two = store(engine, 'two', jsonCodec<Record<string, number>>());
        one.put('x', { a: 1, b: 2 });
        one.put('y', { c: 3 });
        two.put('y', { c: 3 });
        await commitStores(engine, [one, two] as CachedStore<unknown>[]);
        two.put('x', { b: 2, a: 1 });
        await commitStores(engine, [two as CachedStore<unknown>]);
        const d1 = await digestStore(engine, storePrefix('one'));
        assert.equal(d1, await digestStore(engine, storePrefix('two')));
        // Pinned so that every engine (and later versions) agree on the digest format.
        assert.equal(d1, 'fbf7e7e6e4fb10f855db3f83b150e2739783ffc8e62987d0342256c4e6ae9665');
      }));

    if (factory.persistent) {
      test('committed writes survive close and reopen; pending ones do not', () =>
        withEngine(async (engine, reopen) => {
          const s = store(engine, 'kv', stringCodec);
          s.put('kept', 'yes');
          await commitStores(engine, [s as CachedStore<unknown>]);
          s.put('lost', 'never committed');
          await engine.close();
          const again = store(await reopen(), 'kv', stringCodec);
          assert.equal(await again.get('kept'), 'yes');
          assert.equal(await again.get('lost'), undefined);
        }));
    }
  });
}
