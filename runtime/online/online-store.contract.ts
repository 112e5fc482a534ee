/**
 * The contract every online-store back-end passes: reads of
 * committed feature values, deletes, a bundle in one round trip, replays
 * that never move a view backwards, and blue/green namespace swaps and
 * drops under concurrent readers. Each back-end supplies a fixture that
 * feeds it the way production does (in-process: the processors' task
 * states; Redis: the materializer tailing their changelogs).
 *
 * @example
 * ```ts
 * runOnlineStoreContract('redis', () => openRedisFixture());
 * ```
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { missingService } from '../../test/skips.js';
import { OnlineStoreError, OnlineStoreUnavailableError } from '../errors.js';
import { planBundle } from './bundle-plan.js';
import type { SourceWrite, Tagged } from './feature-source.js';
import type { OnlineStore } from './online-store.js';

export interface OnlineStoreFixture {
  readonly store: OnlineStore;
  /** Registers an empty namespace (not active). */
  createNamespace(namespace: string): Promise<void>;
  /** Commits writes to the namespace's feature stores and waits until the store serves them. */
  apply(namespace: string, writes: readonly SourceWrite[]): Promise<void>;
  /** Rebuilds what the store serves for the namespace from its changelogs, as a replay does. */
  replay(namespace: string): Promise<void>;
  /** What the back-end still holds for a namespace: Redis keys, or attached tasks. */
  residue(namespace: string): Promise<number>;
  /** The most round trips reading `reads` ((view, key) pairs) may cost. */
  maxRoundTrips(reads: readonly { view: string; key: string }[]): number;
  close(): Promise<void>;
}

/** A fixture, or the reason the back-end cannot be tested here (a skip, or a failure under `CI=true`). */
export type FixtureFactory = () => Promise<OnlineStoreFixture | string>;

const ITEMS = Array.from({ length: 20 }, (_, i) => `i${i}`);

function tagged(n: number, tag: string): Tagged {
  return { n, tag };
}

/** Runs `body` while `readers` loops read concurrently; returns what each loop collected. */
async function withReaders<T>(
  readers: number,
  read: () => Promise<T>,
  body: () => Promise<void>,
): Promise<{ results: T[][]; errors: unknown[] }> {
  let running = true;
  const errors: unknown[] = [];
  const loops = Array.from({ length: readers }, async () => {
    const seen: T[] = [];
    while (running) {
      try {
        seen.push(await read());
      } catch (err) {
        errors.push(err);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    return seen;
  });
  try {
    await body();
    // Let every loop read a few times after the change.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    running = false;
  }
  return { results: await Promise.all(loops), errors };
}

export function runOnlineStoreContract(name: string, factory: FixtureFactory): void {
  async function withFixture(t: TestContext, body: (fx: OnlineStoreFixture) => Promise<void>): Promise<void> {
    const fx = await factory();
    if (typeof fx === 'string') {
      missingService(t, fx);
      return;
    }
    try {
      await body(fx);
    } finally {
      await fx.close();
    }
  }

  async function filled(fx: OnlineStoreFixture, namespace: string, tag: string): Promise<void> {
    await fx.createNamespace(namespace);
    await fx.apply(namespace, [
      { view: 'user', key: 'u1', value: tagged(1, tag) },
      { view: 'user_counts', key: 'u1', value: 7 },
      ...ITEMS.map((item, i) => ({ view: 'item', key: item, value: tagged(i, tag) })),
      { view: 'popularity_by_country', key: 'PT', value: 0.25 },
    ]);
  }

  describe(`online store contract: ${name}`, () => {
    test('get and getMany return committed values decoded by the view codec, in order, with misses', (t) =>
      withFixture(t, async (fx) => {
        await filled(fx, 'blue', 'a');
        await fx.store.activate('blue');
        assert.deepEqual(await fx.store.get('user', 'u1'), tagged(1, 'a'));
        assert.equal(await fx.store.get('user_counts', 'u1'), 7);
        assert.equal(await fx.store.get('user', 'nobody'), undefined);
        assert.deepEqual(await fx.store.getMany('item', ['i3', 'missing', 'i0', 'i3']), [
          tagged(3, 'a'),
          undefined,
          tagged(0, 'a'),
          tagged(3, 'a'),
        ]);
        assert.deepEqual(await fx.store.getMany('item', []), []);
      }));

    test('a delete removes the key from its view only; a later write brings it back', (t) =>
      withFixture(t, async (fx) => {
        await filled(fx, 'blue', 'a');
        await fx.store.activate('blue');
        await fx.apply('blue', [{ view: 'user', key: 'u1', value: null }]);
        assert.equal(await fx.store.get('user', 'u1'), undefined);
        assert.equal(await fx.store.get('user_counts', 'u1'), 7);
        await fx.apply('blue', [{ view: 'user', key: 'u1', value: tagged(2, 'b') }]);
        assert.deepEqual(await fx.store.get('user', 'u1'), tagged(2, 'b'));
      }));

    test('a replay never moves a view backwards or brings a deleted key back, with readers running', (t) =>
      withFixture(t, async (fx) => {
        await fx.createNamespace('blue');
        await fx.store.activate('blue');
        await fx.apply('blue', [
          { view: 'user', key: 'u1', value: tagged(1, 'old') },
          { view: 'user', key: 'u2', value: tagged(1, 'deleted later') },
        ]);
        await fx.apply('blue', [{ view: 'user', key: 'u1', value: tagged(2, 'new') }]);
        await fx.apply('blue', [{ view: 'user', key: 'u2', value: null }]);
        const { results, errors } = await withReaders(
          3,
          () => fx.store.getMany<Tagged>('user', ['u1', 'u2']),
          () => fx.replay('blue'),
        );
        assert.deepEqual(errors, []);
        const reads = results.flat();
        assert.ok(reads.length > 0);
        for (const [u1, u2] of reads) {
          assert.deepEqual(u1, tagged(2, 'new'));
          assert.equal(u2, undefined);
        }
        assert.deepEqual(await fx.store.get('user', 'u1'), tagged(2, 'new'));
      }));

    test('a bundle holds the user views, the item views and lookups, read in one round trip', (t) =>
      withFixture(t, async (fx) => {
        await filled(fx, 'blue', 'a');
        await fx.store.activate('blue');
        const request = {
          items: [...ITEMS, 'missing'],
          lookups: [{ view: 'popularity_by_country', keys: ['PT', 'XX'] }],
        };
        await fx.store.bundle('u1', request);
        const before = fx.store.stats().roundTrips;
        const bundle = await fx.store.bundle('u1', request);
        const reads = planBundle(fx.store.views, 'u1', request).map((r) => ({
          view: r.view.name,
          key: r.key,
        }));
        assert.ok(fx.store.stats().roundTrips - before <= fx.maxRoundTrips(reads));
        assert.equal(bundle.namespace, 'blue');
        assert.deepEqual(bundle.unavailable, []);
        assert.deepEqual(bundle.user.get('user'), tagged(1, 'a'));
        assert.equal(bundle.user.get('user_counts'), 7);
        assert.equal(bundle.items.size, ITEMS.length);
        assert.deepEqual(bundle.items.get('i19')?.get('item'), tagged(19, 'a'));
        assert.equal(bundle.items.has('missing'), false);
        assert.equal(bundle.lookups.get('popularity_by_country')?.get('PT'), 0.25);
        assert.equal(bundle.lookups.get('popularity_by_country')?.has('XX'), false);

        const onlyCounts = await fx.store.bundle('u1', { userViews: ['user_counts'], itemViews: [] });
        assert.deepEqual([...onlyCounts.user.keys()], ['user_counts']);
        const stranger = await fx.store.bundle('u-unknown', { items: ['i1'] });
        assert.equal(stranger.user.size, 0);
        assert.deepEqual(stranger.items.get('i1')?.get('item'), tagged(1, 'a'));
      }));

    test('unknown views are refused with an error naming the known ones', (t) =>
      withFixture(t, async (fx) => {
        await filled(fx, 'blue', 'a');
        await fx.store.activate('blue');
        await assert.rejects(fx.store.get('nope', 'k'), (err: unknown) => {
          assert.ok(err instanceof OnlineStoreError);
          assert.match(err.message, /unknown feature view "nope"; known: user, user_counts, item/);
          return true;
        });
        await assert.rejects(fx.store.bundle('u1', { itemViews: ['nope'] }), OnlineStoreError);
      }));

    test('with no active namespace a bundle says so and get fails with a retriable error', (t) =>
      withFixture(t, async (fx) => {
        assert.equal(await fx.store.activeNamespace(), undefined);
        const bundle = await fx.store.bundle('u1', { items: ['i1'] });
        assert.deepEqual(bundle.unavailable, ['namespace']);
        assert.equal(bundle.user.size, 0);
        await assert.rejects(fx.store.get('user', 'u1'), (err: unknown) => {
          assert.ok(err instanceof OnlineStoreUnavailableError);
          assert.equal(err.retriable, true);
          return true;
        });
      }));

    test('a namespace swap under concurrent readers: no errors, no empty views, no reader goes back', (t) =>
      withFixture(t, async (fx) => {
        await filled(fx, 'blue', 'blue');
        await fx.store.activate('blue');
        await filled(fx, 'green', 'green');
        assert.deepEqual(
          (await fx.store.namespaces()).map((n) => [n.name, n.state]),
          [
            ['blue', 'active'],
            ['green', 'building'],
          ],
        );
        const { results, errors } = await withReaders(
          4,
          () => fx.store.bundle('u1', { items: ITEMS }),
          async () => {
            await new Promise((resolve) => setTimeout(resolve, 30));
            await fx.store.activate('green');
          },
        );
        assert.deepEqual(errors, []);
        for (const seen of results) {
          assert.ok(seen.length > 0);
          let switched = false;
          for (const bundle of seen) {
            const user = bundle.user.get('user') as Tagged | undefined;
            assert.ok(user, 'the user view is never empty');
            assert.equal(bundle.items.size, ITEMS.length, 'item views are never empty');
            assert.equal(bundle.namespace, user.tag);
            for (const values of bundle.items.values())
              assert.equal((values.get('item') as Tagged).tag, user.tag);
            if (user.tag === 'green') switched = true;
            else assert.equal(switched, false, 'a reader never goes back to the old namespace');
          }
          assert.equal(switched, true);
        }
        assert.equal(await fx.store.activeNamespace(), 'green');
      }));

    test('drop deletes a retired namespace, refuses the active one, and reads go on', (t) =>
      withFixture(t, async (fx) => {
        await filled(fx, 'blue', 'blue');
        await fx.store.activate('blue');
        await filled(fx, 'green', 'green');
        await fx.store.activate('green');
        assert.ok((await fx.residue('blue')) > 0);
        assert.deepEqual(
          (await fx.store.namespaces()).map((n) => [n.name, n.state]),
          [
            ['blue', 'retired'],
            ['green', 'active'],
          ],
        );
        const { errors } = await withReaders(
          2,
          async () => assert.equal(((await fx.store.get('user', 'u1')) as Tagged).tag, 'green'),
          async () => {
            const report = await fx.store.drop('blue');
            assert.equal(report.namespace, 'blue');
            assert.ok(report.removed > 0);
          },
        );
        assert.deepEqual(errors, []);
        assert.equal(await fx.residue('blue'), 0);
        assert.deepEqual(
          (await fx.store.namespaces()).map((n) => n.name),
          ['green'],
        );
        await assert.rejects(fx.store.drop('green'), /namespace green is active/);
        await assert.rejects(fx.store.drop('bad name'), /namespace "bad name" must be/);
        assert.deepEqual(await fx.store.get('user', 'u1'), tagged(1, 'green'));
      }));
  });
}
