/**
 * The `co-visitation` topology in the TopologyTestDriver (Avro serde over
 * an embedded registry), the records it writes to `rec.co-visits` fed back
 * to its item side as the internal topic does: pairs both ways with their
 * 1/k weights, only consumed items, the window, event-time decay, the
 * neighbour cap, replay determinism and bad input.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CO_VISITATION_STORE,
  type CoVisitation,
  coVisitationCodec,
} from '../../features/views/co-visitation.js';
import { TopologyTestDriver } from '../../runtime/processor/test-driver.js';
import { openEmbeddedRegistry } from '../../runtime/registry/embedded/embedded-registry.js';
import type { Encoder } from '../../runtime/serde/serde.js';
import type { CoVisit, Interaction, User } from '../../schemas/generated/types.js';
import { platformSerde } from '../../schemas/platform.js';
import { CO_VISITS_TOPIC, PLATFORM_TOPICS } from '../../schemas/topics.js';
import { catalogItem, event, profile } from '../../test/features.js';
import { type CoVisitationOptions, coVisitationTopology } from '../../topologies/co-visitation.js';
import { SESSION_ITEMS_STORE } from './session-items.js';

const MIN = 60_000;
const HOUR_MS = 60 * MIN;
const T0 = 1_000 * HOUR_MS;
const OPTIONS: CoVisitationOptions = {
  windowMs: HOUR_MS,
  recentItems: 3,
  halfLifeMs: HOUR_MS,
  neighbours: 4,
};

class Harness {
  private constructor(
    readonly driver: TopologyTestDriver,
    private readonly dir: string,
    private readonly interactions: Encoder<Interaction>,
    readonly visits: Encoder<CoVisit>,
    private readonly users: Encoder<User>,
  ) {}

  static async create(options: Partial<CoVisitationOptions> = {}): Promise<Harness> {
    const dir = await mkdtemp(join(tmpdir(), 'recstream-co-visitation-'));
    const serde = platformSerde(await openEmbeddedRegistry({ dataDir: dir }));
    const topology = await coVisitationTopology(serde, { ...OPTIONS, ...options });
    const driver = await TopologyTestDriver.create(topology, { topics: PLATFORM_TOPICS });
    const items = await serde.encoder('rec.items-value');
    await driver.pipe('rec.items', 'i-short', items.encode(catalogItem('i-short', { duration_s: 100 })), 0);
    return new Harness(
      driver,
      dir,
      await serde.encoder('rec.interactions-value'),
      await serde.encoder('rec.co-visits-value'),
      await serde.encoder('rec.users-value'),
    );
  }

  /** Pipes an interaction, then feeds what it wrote to rec.co-visits back in. */
  async interaction(e: Interaction, key: string | null = e.user_id): Promise<void> {
    await this.driver.pipe('rec.interactions', key, this.interactions.encode(e), e.ts);
    for (const out of this.driver.readOutput(CO_VISITS_TOPIC))
      await this.driver.pipe(CO_VISITS_TOPIC, out.key, out.value, out.timestamp);
  }

  /** A profile update; null deletes the user. */
  async user(userId: string, user: User | null, ts: number): Promise<void> {
    await this.driver.pipe('rec.users', userId, user === null ? null : this.users.encode(user), ts);
  }

  /** The item's neighbours once the input ends here: the merge releases what still waits for a later promise. */
  async neighbours(item: string): Promise<Record<string, number>> {
    await this.driver.endOfInput();
    const view = await this.driver.store<CoVisitation>(CO_VISITATION_STORE).get(item);
    return Object.fromEntries((view?.items ?? []).map((id, i) => [id, view!.weights[i]!]));
  }

  async bytes(items: readonly string[]): Promise<string> {
    await this.driver.endOfInput();
    const store = this.driver.store<CoVisitation>(CO_VISITATION_STORE);
    const out: string[] = [];
    for (const item of items) {
      const view = await store.get(item);
      out.push(view === undefined ? '-' : coVisitationCodec.encode(view).toString('hex'));
    }
    return out.join(',');
  }

  async close(): Promise<void> {
    await this.driver.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

test("a consumed item pairs both ways with the user's recent items in the window, the k-th nearest adding 1/k", async () => {
  const h = await Harness.create();
  try {
    await h.interaction(event('e1', 'u1', 'a', 'click', T0));
    await h.interaction(event('e2', 'u1', 'b', 'view', T0 + MIN));
    await h.interaction(event('e3', 'u1', 'x', 'impression', T0 + 2 * MIN));
    await h.interaction(event('e4', 'u1', 'y', 'skip', T0 + 2 * MIN));
    await h.interaction(event('e5', 'u1', 'i-short', 'view', T0 + 2 * MIN, { watch_ms: 10_000 }));
    await h.interaction(event('e6', 'u1', 'c', 'like', T0 + 3 * MIN));
    await h.interaction(event('e7', 'u2', 'a', 'click', T0 + 3 * MIN));
    const at = (dt: number) => 2 ** (-dt / HOUR_MS);
    assert.deepEqual(await h.neighbours('c'), { b: 1, a: 0.5 });
    assert.deepEqual(await h.neighbours('b'), { c: 1, a: 1 * at(2 * MIN) });
    assert.deepEqual(await h.neighbours('a'), { b: 1 * at(2 * MIN), c: 0.5 });
    for (const notConsumed of ['x', 'y', 'i-short'])
      assert.deepEqual(await h.neighbours(notConsumed), {}, `${notConsumed} is not consumption`);

    await h.interaction(event('e8', 'u1', 'd', 'click', T0 + 3 * MIN + HOUR_MS + 1));
    assert.deepEqual(await h.neighbours('d'), {}, 'everything else is more than the window before');
    await h.interaction(event('e1', 'u1', 'a', 'click', T0 + 4 * MIN + HOUR_MS), 'u1');
    assert.deepEqual(await h.neighbours('d'), {}, 'a repeated event id pairs nothing');
  } finally {
    await h.close();
  }
});

test('weights decay by event time with the half-life, whatever the wall clock', async () => {
  const h = await Harness.create({ windowMs: 10 * HOUR_MS });
  try {
    await h.interaction(event('e1', 'u1', 'a', 'click', T0));
    await h.interaction(event('e2', 'u1', 'b', 'click', T0 + MIN));
    await h.interaction(event('e3', 'u2', 'a', 'click', T0 + 2 * HOUR_MS));
    await h.interaction(event('e4', 'u2', 'c', 'click', T0 + 2 * HOUR_MS + MIN));
    await h.driver.advanceWallClock(Date.now() + 10 * HOUR_MS);
    const a = await h.neighbours('a');
    assert.equal(a.c, 1);
    assert.ok(Math.abs(a.b! - 2 ** (-(2 * HOUR_MS) / HOUR_MS)) < 1e-12, 'two half-lives: a quarter');
    const view = await h.driver.store<CoVisitation>(CO_VISITATION_STORE).get('a');
    assert.equal(view!.ref_ts, T0 + 2 * HOUR_MS + MIN);
    assert.deepEqual(view!.items, ['c', 'b'], 'strongest first');
  } finally {
    await h.close();
  }
});

test('each item keeps its strongest neighbours up to the cap; the weakest is evicted', async () => {
  const h = await Harness.create({ neighbours: 2, recentItems: 5 });
  try {
    for (const [i, item] of ['p', 'q', 'r', 's'].entries())
      await h.interaction(event(`e${i}`, 'u1', item, 'click', T0 + i * MIN));
    assert.deepEqual(Object.keys(await h.neighbours('s')), ['r', 'q'], 'p, the weakest (1/3), is evicted');
    assert.deepEqual(Object.keys(await h.neighbours('p')), ['q', 'r'], 'p met s last and weakest');
    await h.interaction(event('e9', 'u2', 's', 'click', T0 + 5 * MIN));
    await h.interaction(event('e10', 'u2', 'p', 'click', T0 + 6 * MIN));
    assert.deepEqual(Object.keys(await h.neighbours('s')), ['p', 'r'], 'p back and strongest now');
  } finally {
    await h.close();
  }
});

test('a replay of the same records gives byte-identical neighbour lists', async () => {
  const events: Interaction[] = [];
  let n = 0;
  for (let user = 0; user < 12; user++)
    for (let step = 0; step < 9; step++)
      events.push(
        event(`e${n++}`, `u${user}`, `i${(user * 7 + step * step) % 15}`, 'click', T0 + n * 13_000),
      );
  const run = async () => {
    const h = await Harness.create({ neighbours: 5, recentItems: 4, windowMs: 10 * MIN });
    try {
      for (const e of events) await h.interaction(e);
      return await h.bytes(Array.from({ length: 15 }, (_, i) => `i${i}`));
    } finally {
      await h.close();
    }
  };
  const first = await run();
  assert.equal(await run(), first);
  assert.ok(!first.split(',').includes('-'), 'every item has neighbours');
});

test('bad input goes to the dead-letter topic with the reason; a repeated visit adds nothing', async () => {
  const h = await Harness.create();
  try {
    await h.interaction(event('e1', 'u1', 'a', 'click', T0), 'u2');
    await h.interaction(event('e2', 'u1', '', 'click', T0));
    await h.driver.pipe('rec.interactions', 'u1', Buffer.from('not avro'), T0);
    const visit: CoVisit = {
      visit_id: 'v1',
      item_id: 'a',
      ts: T0,
      neighbours: [{ item_id: 'b', weight: 1 }],
      source_partition: -1,
      sequence: -1,
      frontier: 0,
    };
    await h.driver.pipe(CO_VISITS_TOPIC, 'b', h.visits.encode(visit), T0);
    const badWeight = { ...visit, visit_id: 'v2', neighbours: [{ item_id: 'b', weight: -1 }] };
    await h.driver.pipe(CO_VISITS_TOPIC, 'a', h.visits.encode(badWeight), T0);
    await h.driver.pipe(CO_VISITS_TOPIC, 'a', h.visits.encode(visit), T0);
    await h.driver.pipe(CO_VISITS_TOPIC, 'a', h.visits.encode(visit), T0 + MIN);
    const reasons = h.driver.deadLetters.map((d) => [d.source_topic, d.processor, d.error_message]);
    assert.equal(reasons.length, 5);
    assert.match(reasons[0]![2]!, /record key .* is not its user_id/);
    assert.match(reasons[1]![2]!, /item_id is empty/);
    assert.equal(reasons[2]![0], 'rec.interactions');
    assert.match(reasons[3]![2]!, /record key "b" is not its item_id/);
    assert.match(reasons[4]![2]!, /weight -1 of b is not a positive number/);
    assert.deepEqual(await h.neighbours('a'), { b: 1 }, 'v1 counted once');
  } finally {
    await h.close();
  }
});

test('an opt-out or a deletion purges the recent items; an opted-out user pairs nothing until they opt back in', async () => {
  const h = await Harness.create();
  try {
    await h.interaction(event('e1', 'u1', 'a', 'click', T0));
    await h.user('u1', profile('u1', { opt_out: true, updated_ts: T0 + MIN }), T0 + MIN);
    assert.deepEqual(await h.driver.store(SESSION_ITEMS_STORE).get('u1'), {
      items: [],
      ts: [],
      opt_out: true,
    });
    await h.interaction(event('e2', 'u1', 'b', 'click', T0 + 2 * MIN));
    assert.deepEqual(await h.neighbours('b'), {}, 'nothing paired while opted out');
    await h.user('u1', profile('u1', { opt_out: false, updated_ts: T0 + 3 * MIN }), T0 + 3 * MIN);
    assert.equal(await h.driver.store(SESSION_ITEMS_STORE).get('u1'), undefined);
    await h.interaction(event('e3', 'u1', 'c', 'click', T0 + 4 * MIN));
    await h.interaction(event('e4', 'u1', 'd', 'click', T0 + 5 * MIN));
    assert.deepEqual(await h.neighbours('d'), { c: 1 }, 'back in: pairs from then on, a and b forgotten');
    await h.user('u1', null, T0 + 6 * MIN);
    assert.equal(
      await h.driver.store(SESSION_ITEMS_STORE).get('u1'),
      undefined,
      'a deleted user leaves nothing',
    );
  } finally {
    await h.close();
  }
});

test('an interaction pairs by the profile as of its event time, whenever the profile was read', async () => {
  const h = await Harness.create();
  try {
    // Out from T0 to T0 + 10 min, both profiles read before the interactions of that span.
    await h.user('u1', profile('u1', { opt_out: true, updated_ts: T0 }), T0);
    await h.user('u1', profile('u1', { opt_out: false, updated_ts: T0 + 10 * MIN }), T0 + 10 * MIN);
    await h.interaction(event('e1', 'u1', 'a', 'click', T0 + MIN));
    await h.interaction(event('e2', 'u1', 'b', 'click', T0 + 2 * MIN));
    assert.deepEqual(await h.neighbours('b'), {}, 'opted out at the time: nothing paired');
    await h.interaction(event('e3', 'u1', 'c', 'click', T0 + 11 * MIN));
    await h.interaction(event('e4', 'u1', 'd', 'click', T0 + 12 * MIN));
    assert.deepEqual(await h.neighbours('d'), { c: 1 }, 'back in at the time: pairs again');
  } finally {
    await h.close();
  }
});
