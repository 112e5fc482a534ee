/**
 * Experiments served end to end on the embedded default, over a world with
 * two trained versions (`recstream@2` promoted, `recstream@1` kept) and two
 * responders on the same log (the HTTP responder and a second
 * `RecommendationService` constructed beside it): an experiment started by
 * event is picked up without a restart, each variant serves its model
 * (`<model>@<version>`, `popularity`, `promoted`) and both responders
 * assign every user alike; a stopped experiment's users are back on the
 * promoted model at once; the served pairs are gathered onto one session
 * thread without a request failing; a shadow variant's list is published and never
 * shown; promoted slots and a variant's freshness boost order the page; a
 * variant that explores logs each placement's propensity.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningResponder, startResponder } from '../../app/responder.js';
import { openServingStore, type ServingStore } from '../../app/serving-store.js';
import type { UserView } from '../../features/views/user-view.js';
import { Indexer } from '../../indexer/indexer.js';
import { assignVariant } from '../../registry/experiments/assignment.js';
import { FileArtifactStore } from '../../registry/model-store.js';
import { rollbackModel } from '../../registry/rollback.js';
import { readTopic } from '../../registry/topic-reader.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { createProducer, type Producer } from '../../runtime/producer/producer.js';
import type { Experiment, Item, Promotion, ServedRecommendations } from '../../schemas/generated/types.js';
import type { Platform } from '../../schemas/platform.js';
import { EXPERIMENTS_TOPIC, PROMOTIONS_TOPIC } from '../../schemas/topics.js';
import { buildServedWorld, openServedPlatform, SERVED_WORLD_TRAIN_CONFIG } from '../../test/served-world.js';
import { Trainer } from '../../trainer/trainer.js';
import { RecommendationService } from './service.js';
import { ShadowRunner } from './shadow-runner.js';

interface Body {
  items: { item_id: string; score: number; reason: string }[];
  model_version: string | null;
  fallback: string | null;
  experiment_id: string | null;
  variant: string | null;
  request_id: string;
}

let root: string;
let platform: Platform;
let serving: ServingStore;
let responder: RunningResponder;
let second: RecommendationService;
let producer: Producer;

const USERS = Array.from({ length: 240 }, (_, i) => `u${i}`);

async function get(url: string, headers: Record<string, string> = {}): Promise<Body> {
  const res = await responder.app.inject({ method: 'GET', url, headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Body;
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

function experiment(
  id: string,
  variants: Experiment['variants'],
  status: Experiment['status'] = 'running',
): Experiment {
  return {
    id,
    description: `serving test ${id}`,
    status,
    salt: `salt-${id}`,
    traffic_start: 0,
    traffic_end: 1,
    variants,
    primary_metric: 'ctr',
    guardrails: [],
    canary: null,
    reason: null,
    created_ts: Date.now(),
    updated_ts: Date.now(),
  };
}

const variant = (
  name: string,
  model: string,
  share: number,
  more: Partial<Experiment['variants'][0]> = {},
) => ({
  name,
  model,
  share,
  shadow: false,
  ordering: null,
  ...more,
});

const service = () => responder.recommendations()!;

async function publish(exp: Experiment): Promise<void> {
  await producer.deliver(EXPERIMENTS_TOPIC, [{ key: exp.id, value: exp }]);
}

async function servedLists(requestId: string): Promise<ServedRecommendations[]> {
  const decoder = await platform.serde.decoder('rec.recommendations-value');
  const out: ServedRecommendations[] = [];
  for await (const record of readTopic(platform.log, 'rec.recommendations')) {
    const list: ServedRecommendations = await decoder.decode(record.value!);
    if (list.request_id === requestId) out.push(list);
  }
  return out;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'recstream-experiments-e2e-'));
  const dataDir = join(root, 'data');
  await buildServedWorld(dataDir);
  platform = await openServedPlatform(dataDir);
  const store = new FileArtifactStore(join(dataDir, 'artifacts'));
  const trained = await new Trainer({ platform, store, engineDefaults: SERVED_WORLD_TRAIN_CONFIG }).trainOnce(
    {
      force: true,
    },
  );
  assert.equal(trained.kind === 'published' && trained.version.version, 2);
  assert.equal((await new Indexer({ platform, store }).indexOnce()).kind, 'full');
  serving = await openServingStore(platform);
  responder = await startResponder(platform, {
    online: serving.online,
    service: { pollMs: 10, popularityRefreshMs: 200 },
  });
  await responder.started;
  await until('recstream@2 served', () => service().bundles.status().model === 'recstream@2');
  second = await RecommendationService.start({ platform, online: serving.online, store, pollMs: 10 });
  producer = createProducer({ log: platform.log, serde: platform.serde, createTopics: { partitions: 1 } });
});

after(async () => {
  await producer?.close();
  await second?.close();
  await responder?.close();
  await serving?.close();
  await platform?.close();
  await rm(root, { recursive: true, force: true });
});

test('a started experiment is served by a running responder: each variant its model, both responders alike', {
  timeout: 120_000,
}, async () => {
  const ab = experiment('ab', [
    variant('control', 'promoted', 0.4),
    variant('old', 'recstream@1', 0.3),
    variant('pop', 'popularity', 0.3),
  ]);
  const outside = await get('/v1/recommendations/u0?k=5');
  assert.equal(outside.experiment_id, null);
  assert.equal(outside.variant, null);
  await publish(ab);
  const pickedUp = await until(
    'the experiment in a response',
    async () => {
      return (await get('/v1/recommendations/u0?k=5')).experiment_id === 'ab';
    },
    5_000,
  );
  const loadMs = await until(
    'recstream@1 loaded for the variant',
    () => service().bundles.status().variants?.['recstream@1'] === 'loaded',
  );
  // Then both pairs load again onto one session thread and are swapped in together: every
  // request meanwhile is answered from its variant's model.
  let whileTwoThreads = 0;
  const gatherMs = await until('the two pairs on one session thread', async () => {
    const threads = service().bundles.status().sessionThreads;
    for (const user of USERS.slice(0, 12)) {
      const body = await get(`/v1/recommendations/${user}?k=5`);
      const name = assignVariant([ab], user)?.variant.name;
      if (body.fallback !== null || body.experiment_id === null) continue;
      if (name === 'old') assert.equal(body.model_version, 'recstream@1', user);
      if (name === 'control') assert.equal(body.model_version, 'recstream@2', user);
    }
    if (threads !== 1) whileTwoThreads++;
    return threads === 1;
  });
  const loopStarted = Date.now();
  await until(
    'the second responder has the experiment',
    () => second.experiments.running('ab') !== undefined,
    5_000,
  );
  // Until its own copy of the pair loads, the second responder serves `old` users outside the experiment.
  await until(
    'recstream@1 loaded by the second responder',
    () => second.bundles.status().variants?.['recstream@1'] === 'loaded',
  );

  const byVariant = new Map<string, string[]>();
  let optedOut = 0;
  for (const user of USERS) {
    const expected = assignVariant([ab], user)!.variant.name;
    byVariant.set(expected, [...(byVariant.get(expected) ?? []), user]);
    const body = await get(`/v1/recommendations/${user}?k=5`);
    const other = await second.recommender.recommend({ userId: user, k: 5 });
    if (service().profiles.get(user)?.opt_out) {
      // Opted-out users are in no experiment.
      assert.equal(body.experiment_id, null, user);
      assert.equal(body.fallback, 'opt_out', user);
      optedOut++;
      continue;
    }
    assert.equal(body.experiment_id, 'ab', user);
    assert.equal(body.variant, expected, user);
    assert.equal(other.variant, body.variant, `${user}: the two responders disagree`);
    if (body.fallback !== null) continue;
    if (expected === 'old') assert.equal(body.model_version, 'recstream@1', user);
    if (expected === 'control') assert.equal(body.model_version, 'recstream@2', user);
  }
  for (const name of ['control', 'old', 'pop']) assert.ok((byVariant.get(name)?.length ?? 0) > 40, name);
  assert.ok(optedOut > 0, 'the world has opted-out users');

  const withHistory = async (name: string) => {
    for (const user of byVariant.get(name)!) {
      if (service().profiles.get(user)?.opt_out) continue;
      const view = await serving.online.get<UserView>('user', user);
      if (view !== undefined && view.recent.length > 0) return { user, view };
    }
    throw new Error(`no user of ${name} has a history`);
  };
  const { user: popUser, view } = await withHistory('pop');
  const pop = await get(`/v1/recommendations/${popUser}?k=10`, { 'x-request-id': 'req-pop' });
  assert.equal(pop.fallback, null, 'the popularity variant is its policy, not a fallback');
  assert.equal(pop.model_version, null);
  assert.ok(pop.items.length === 10 && pop.items.every((i) => i.reason === 'fallback'));
  const seen = new Set(view.recent.map((r) => r.item_id));
  assert.ok(
    pop.items.every((i) => !seen.has(i.item_id)),
    'nothing the user has seen',
  );

  const { user: oldUser } = await withHistory('old');
  const old = await get(`/v1/recommendations/${oldUser}?k=10`, { 'x-request-id': 'req-old' });
  assert.ok(old.items.every((i) => i.reason === 'retrieved'));
  await service().served.flush();
  await until('the served list names the experiment', async () => {
    const [list] = await servedLists('req-old');
    if (list === undefined) return false;
    assert.equal(list.experiment_id, 'ab');
    assert.equal(list.variant, 'old');
    assert.equal(list.model_version, 'recstream@1');
    assert.equal(list.shadow, false);
    assert.ok(list.took_ms !== null && list.took_ms > 0);
    assert.ok(list.items.every((i) => i.propensity === 1 && i.reason === 'retrieved'));
    return true;
  });
  const requests = await service().metrics.variantRequests.get();
  assert.ok(
    requests.values.some((v) => v.labels.experiment === 'ab' && v.labels.variant === 'old' && v.value > 0),
  );
  console.log(
    `picked up in ${pickedUp} ms; pair loaded in ${loadMs} ms; on one session thread ${gatherMs} ms later (${whileTwoThreads} rounds of requests on two); loop ${Date.now() - loopStarted} ms`,
  );
});

test("a stopped experiment's users are back on the promoted model at once, and its pair is freed", async () => {
  const ab = experiment(
    'ab',
    [
      variant('control', 'promoted', 0.4),
      variant('old', 'recstream@1', 0.3),
      variant('pop', 'popularity', 0.3),
    ],
    'stopped',
  );
  await publish(ab);
  await until('the stop folded', () => service().experiments.running('ab') === undefined, 5_000);
  for (const user of USERS.slice(0, 50)) {
    const body = await get(`/v1/recommendations/${user}?k=5`);
    assert.equal(body.experiment_id, null, user);
    assert.equal(body.variant, null, user);
    if (body.fallback === null) assert.equal(body.model_version, 'recstream@2', user);
  }
  await until(
    'the variant pair freed',
    () => service().bundles.status().variants?.['recstream@1'] === undefined,
  );
});

test('a variant whose model version cannot be loaded serves the promoted pair outside the experiment, counted, never an error', async () => {
  await publish(experiment('pending', [variant('missing', 'recstream@99', 1)]));
  await until('the experiment folded', () => service().experiments.running('pending') !== undefined, 5_000);
  await until('the missing version reported', () =>
    /not in rec.model-versions/.test(service().bundles.status().variants?.['recstream@99'] ?? ''),
  );
  const body = await get('/v1/recommendations/u3?k=5');
  // Labelled outside the experiment: its figures count only what the variant itself served.
  assert.equal(body.experiment_id, null);
  assert.equal(body.variant, null);
  assert.equal(body.model_version, 'recstream@2', 'served by the promoted pair');
  const pending = (await service().metrics.variantPending.get()).values.find(
    (v) => v.labels.experiment === 'pending',
  );
  assert.ok(pending !== undefined && pending.value >= 1);
  await publish({ ...experiment('pending', [variant('missing', 'recstream@99', 1)]), status: 'stopped' });
  await until('the stop folded', () => service().experiments.running('pending') === undefined, 5_000);
});

test('a shadow variant scores the same request off the hot path; its list is published with shadow true, never shown', {
  timeout: 120_000,
}, async () => {
  await publish(
    experiment('shadowed', [
      variant('control', 'promoted', 1),
      variant('shadow', 'recstream@1', 0, { shadow: true }),
    ]),
  );
  await until(
    'recstream@1 loaded for the shadow',
    () => service().bundles.status().variants?.['recstream@1'] === 'loaded',
  );
  const body = await get('/v1/recommendations/u3?k=10', { 'x-request-id': 'req-shadow' });
  assert.equal(body.experiment_id, 'shadowed');
  assert.equal(body.variant, 'control');
  assert.equal(body.model_version, 'recstream@2');
  await service().shadows.idle();
  await service().served.flush();
  let lists: ServedRecommendations[] = [];
  await until('both lists of req-shadow', async () => {
    lists = await servedLists('req-shadow');
    return lists.length === 2;
  });
  const shown = lists.find((l) => !l.shadow)!;
  const shadow = lists.find((l) => l.shadow)!;
  assert.deepEqual(
    shown.items.map((i) => i.item_id),
    body.items.map((i) => i.item_id),
    'what was shown is the served list',
  );
  assert.equal(shadow.variant, 'shadow');
  assert.equal(shadow.experiment_id, 'shadowed');
  assert.equal(shadow.model_version, 'recstream@1');
  assert.ok(shadow.took_ms !== null && shadow.took_ms > 0);
  const jaccard = (await service().metrics.shadowJaccard.get()).values.find(
    (v) => v.metricName === 'recstream_serve_shadow_jaccard_count' && v.labels.variant === 'shadow',
  );
  assert.ok(jaccard !== undefined && jaccard.value >= 1);
  const seconds = (await service().metrics.shadowSeconds.get()).values.find(
    (v) => v.metricName === 'recstream_serve_shadow_seconds_count' && v.labels.variant === 'shadow',
  );
  assert.ok(seconds !== undefined && seconds.value >= 1);

  // A full queue drops shadow scorings and counts them, the served request untouched.
  const dropped = async () =>
    (await service().metrics.shadowDropped.get()).values.find((v) => v.labels.variant === 'shadow')?.value ??
    0;
  const before = await dropped();
  const runner = new ShadowRunner({ ...service(), logger: silentLogger(), maxPending: 1 });
  const request = { userId: 'u3', k: 10, context: {}, requestId: 'req-drop', surface: null, caller: null };
  const result = await service().recommender.recommend({ userId: 'u3', k: 10 });
  for (let i = 0; i < 3; i++) runner.submit(request, result);
  assert.equal((await dropped()) - before, 2);
  await runner.idle();
  await publish({ ...experiment('shadowed', [variant('control', 'promoted', 1)]), status: 'stopped' });
  await until('the stop folded', () => service().experiments.running('shadowed') === undefined, 5_000);
});

test("promoted slots are placed and filtered; a variant's freshness boost moves a new release up", {
  timeout: 120_000,
}, async () => {
  const before = await get('/v1/recommendations/u0?k=10');
  assert.equal(before.experiment_id, null);
  const view = await serving.online.get<UserView>('user', 'u0');
  const seen = [...new Set(view!.recent.map((r) => r.item_id))];
  const listed = new Set(before.items.map((i) => i.item_id));
  const catalog = [...service().catalog.values()];
  const candidate = catalog.find((i) => i.available && !listed.has(i.item_id) && !seen.includes(i.item_id))!;
  const unavailable = catalog.find((i) => !i.available) ?? { ...candidate, item_id: 'never-in-catalog' };
  const promotions: Promotion[] = [
    {
      item_id: candidate.item_id,
      position: 2,
      start_ts: null,
      end_ts: null,
      campaign: 'spring',
      updated_ts: Date.now(),
    },
    { item_id: seen[0]!, position: 0, start_ts: null, end_ts: null, campaign: null, updated_ts: Date.now() },
    {
      item_id: unavailable.item_id,
      position: 1,
      start_ts: null,
      end_ts: null,
      campaign: null,
      updated_ts: Date.now(),
    },
    {
      item_id: before.items[5]!.item_id,
      position: 0,
      start_ts: Date.now() + 3_600_000,
      end_ts: null,
      campaign: null,
      updated_ts: Date.now(),
    },
  ];
  await producer.deliver(
    PROMOTIONS_TOPIC,
    promotions.map((p) => ({ key: p.item_id, value: p })),
  );
  await until('the promotions table', () => service().promotions.table.size === promotions.length, 5_000);
  const placed = await get('/v1/recommendations/u0?k=10');
  assert.equal(placed.items.length, 10);
  assert.equal(placed.items[2]!.item_id, candidate.item_id);
  assert.equal(placed.items[2]!.reason, 'promoted');
  assert.deepEqual(
    placed.items.filter((i) => i.reason === 'promoted').map((i) => i.item_id),
    [candidate.item_id],
    'seen, unavailable and not-yet-started promotions are not forced in',
  );
  await producer.deliver(
    PROMOTIONS_TOPIC,
    promotions.map((p) => ({ key: p.item_id, value: null })),
  );
  await until('the promotions withdrawn', () => service().promotions.table.size === 0, 5_000);

  // The sixth item becomes a new release; a variant boosting new releases puts it first.
  const sixth = before.items[5]!.item_id;
  const released: Item = {
    ...service().catalog.get(sixth)!,
    release_ts: Date.now() - 60_000,
    updated_ts: Date.now(),
  };
  await producer.deliver('rec.items', [{ key: sixth, value: released }]);
  await until(
    'the release in the catalog',
    () => service().catalog.get(sixth)?.release_ts === released.release_ts,
    5_000,
  );
  const unboosted = await get('/v1/recommendations/u0?k=10');
  assert.notEqual(unboosted.items[0]!.item_id, sixth, 'no boost by default');
  const ordering = {
    freshness_boost: 1000,
    freshness_window_ms: 86_400_000,
    promotions: null,
    max_category_share: null,
    exploration_epsilon: null,
    exploration_fresh_weight: null,
    exploration_policy: null,
    exploration_temperature: null,
    exploration_pool_size: null,
  };
  await publish(experiment('fresh', [variant('boost', 'promoted', 1, { ordering })]));
  await until('the boosting experiment', () => service().experiments.running('fresh') !== undefined, 5_000);
  const boosted = await get('/v1/recommendations/u0?k=10');
  assert.equal(boosted.variant, 'boost');
  assert.equal(boosted.items[0]!.item_id, sixth);
  assert.equal(boosted.items[0]!.reason, 'boosted');
  await publish({ ...experiment('fresh', [variant('boost', 'promoted', 1)]), status: 'stopped' });
});

test('a variant that explores serves drawn items from below the page, each served item logging its propensity', {
  timeout: 120_000,
}, async () => {
  await until(
    'the boosting experiment stopped',
    () => service().experiments.running('fresh') === undefined,
    5_000,
  );
  let user: string | undefined;
  let seen = new Set<string>();
  for (const candidate of USERS) {
    if (service().profiles.get(candidate)?.opt_out) continue;
    const view = await serving.online.get<UserView>('user', candidate);
    if (view === undefined || view.recent.length === 0) continue;
    user = candidate;
    seen = new Set(view.recent.map((r) => r.item_id));
    break;
  }
  assert.ok(user !== undefined, 'a user with a history');
  const deterministic = await get(`/v1/recommendations/${user}?k=10`);
  const ordering = {
    freshness_boost: null,
    freshness_window_ms: null,
    promotions: null,
    max_category_share: null,
    exploration_epsilon: 0.5,
    exploration_fresh_weight: null,
    exploration_policy: null,
    exploration_temperature: null,
    exploration_pool_size: null,
  };
  await publish(experiment('explore', [variant('explore', 'promoted', 1, { ordering })]));
  await until(
    'the exploring experiment',
    () => service().experiments.running('explore') !== undefined,
    5_000,
  );
  // The draw is seeded by the request id (exploration.test.ts pins it); a pair of asks may
  // still straddle a change of the candidates (an index delta, the catalog), so one pair of
  // three must agree.
  let requestId = '';
  let body: Body | undefined;
  const pairs: string[] = [];
  for (let attempt = 0; attempt < 3 && body === undefined; attempt++) {
    const headers = { 'x-request-id': `req-explore-${attempt}` };
    const first = await get(`/v1/recommendations/${user}?k=10`, headers);
    assert.equal(first.variant, 'explore');
    assert.equal(first.fallback, null);
    const again = await get(`/v1/recommendations/${user}?k=10`, headers);
    const ids = (list: Body) => list.items.map((i) => i.item_id).join(',');
    if (JSON.stringify(again.items) === JSON.stringify(first.items)) {
      requestId = headers['x-request-id'];
      body = first;
    } else pairs.push(`${ids(first)} then ${ids(again)}`);
  }
  assert.ok(body !== undefined, `the same request id draws the same list: ${pairs.join('; ')}`);
  const listed = new Set(deterministic.items.map((i) => i.item_id));
  const explored = body.items.filter((i) => i.reason === 'explored');
  assert.ok(explored.length > 0, 'at ε 0.5 some of ten slots explore');
  for (const i of explored) {
    assert.ok(!listed.has(i.item_id), `${i.item_id} comes from below the deterministic page`);
    assert.ok(!seen.has(i.item_id), `${i.item_id} is not one the user has seen`);
  }
  await service().served.flush();
  await until('the explored list logged', async () => {
    const [list] = await servedLists(requestId);
    if (list === undefined) return false;
    assert.equal(list.variant, 'explore');
    assert.deepEqual(
      list.items.map((i) => i.item_id),
      body.items.map((i) => i.item_id),
    );
    for (const i of list.items) {
      assert.ok(i.propensity > 0 && i.propensity < 1, `${i.item_id}: propensity ${i.propensity}`);
      // A drawn item is one of ~90 candidates below the page: far less likely than a kept one.
      if (i.reason === 'explored') assert.ok(i.propensity < 0.05, `${i.item_id}: ${i.propensity}`);
      else assert.ok(i.propensity > 0.4, `${i.item_id}: ${i.propensity}`);
    }
    return true;
  });
  await publish({ ...experiment('explore', [variant('explore', 'promoted', 1)]), status: 'stopped' });
  await until('the stop folded', () => service().experiments.running('explore') === undefined, 5_000);
});

test('a rollback under a running experiment: the swapped-out version keeps serving its variant, the promoted one is not held twice', {
  timeout: 120_000,
}, async () => {
  const both = experiment('both', [variant('next', 'recstream@2', 0.5), variant('old', 'recstream@1', 0.5)]);
  await publish(both);
  await until('recstream@1 loaded', () => service().bundles.status().variants?.['recstream@1'] === 'loaded');
  assert.equal(
    service().bundles.status().variants?.['recstream@2'],
    'promoted',
    'served by the promoted pair',
  );
  await rollbackModel(platform, new FileArtifactStore(join(root, 'data', 'artifacts')), { reason: 'test' });
  await until('recstream@1 promoted', () => service().bundles.status().model === 'recstream@1');
  await until('the variants settled', () => {
    const variants = service().bundles.status().variants ?? {};
    // recstream@1's own pair freed, the promoted one serving it; recstream@2's adopted.
    return variants['recstream@1'] === 'promoted' && variants['recstream@2'] === 'loaded';
  });
  await until('the promoted pair and the adopted one on one session thread', () => {
    return service().bundles.status().sessionThreads === 1;
  });
  const next = USERS.find(
    (u) => assignVariant([both], u)!.variant.name === 'next' && !service().profiles.get(u)?.opt_out,
  )!;
  const old = USERS.find(
    (u) => assignVariant([both], u)!.variant.name === 'old' && !service().profiles.get(u)?.opt_out,
  )!;
  const served = async (user: string) => {
    const body = await get(`/v1/recommendations/${user}?k=5`);
    return body.fallback === null ? body.model_version : 'fallback';
  };
  assert.equal(await served(next), 'recstream@2', 'the swapped-out pair serves its variant');
  assert.equal(await served(old), 'recstream@1');
  const bundle = service().bundles.acquireVersion('recstream@2');
  try {
    assert.ok(bundle !== undefined && bundle.modelLabel === 'recstream@2');
  } finally {
    bundle?.release();
  }
  await publish({ ...both, status: 'stopped', updated_ts: Date.now() });
  await until('the pairs freed', () => Object.keys(service().bundles.status().variants ?? {}).length === 0);
});
