/**
 * The responder end to end on the embedded default, over a world built as
 * an operator builds it (simulate → process → snapshots → train → index
 * with the real engine): personalised lists that leave out what the user
 * has seen, request errors, the served-list log, a new catalog item
 * retrievable without retraining, hot reload under load (two new versions
 * and a rollback: no failed request, no response mixing a model with
 * another's index), and refused reloads (deleted model files, an index
 * whose lineage does not match) that leave the served pair in place.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type RunningResponder, startResponder } from '../../app/responder.js';
import { openServingStore, type ServingStore } from '../../app/serving-store.js';
import { scoreThroughServing } from '../../evaluation/serving-scores.js';
import type { UserView } from '../../features/views/user-view.js';
import { Indexer, type IndexManifest } from '../../indexer/indexer.js';
import { IndexRegistry, publishIndexVersion } from '../../registry/index-registry.js';
import { ModelRegistry, publishModelVersion } from '../../registry/model-registry.js';
import { FileArtifactStore, sha256File } from '../../registry/model-store.js';
import { rollbackModel } from '../../registry/rollback.js';
import { readTopic } from '../../registry/topic-reader.js';
import { createProducer } from '../../runtime/producer/producer.js';
import type { Item, ServedRecommendations } from '../../schemas/generated/types.js';
import type { Platform } from '../../schemas/platform.js';
import { buildServedWorld, openServedPlatform, SERVED_WORLD_TRAIN_CONFIG } from '../../test/served-world.js';
import { Trainer } from '../../trainer/trainer.js';
import { ServingBundle } from './serving-bundle.js';

interface Body {
  user_id: string;
  items: { item_id: string; score: number }[];
  model_version: string | null;
  index_version: string | null;
  fallback: string | null;
  request_id: string;
  took_ms: number;
  error?: string;
  code?: string;
}

let root: string;
let platform: Platform;
let serving: ServingStore;
let responder: RunningResponder;
let store: FileArtifactStore;

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Body }> {
  const res = await responder.app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.json() as Body };
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

const served = () => responder.recommendations()!.bundles.status();

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'recstream-serve-e2e-'));
  const dataDir = join(root, 'data');
  await buildServedWorld(dataDir);
  platform = await openServedPlatform(dataDir);
  store = new FileArtifactStore(join(dataDir, 'artifacts'));
  serving = await openServingStore(platform);
  responder = await startResponder(platform, {
    online: serving.online,
    service: { pollMs: 10, popularityRefreshMs: 200 },
  });
  await responder.started;
});

after(async () => {
  await responder?.close();
  await serving?.close();
  await platform?.close();
  await rm(root, { recursive: true, force: true });
});

test('a personalised list names its pair, leaves out what the user has seen, and is logged as served', async () => {
  const { status, body } = await get('/v1/recommendations/u0?k=10', { 'x-request-id': 'req-u0-1' });
  assert.equal(status, 200);
  assert.equal(body.fallback, null);
  assert.equal(body.model_version, 'recstream@1');
  assert.equal(body.index_version, 'items@1');
  assert.equal(body.request_id, 'req-u0-1');
  assert.equal(body.items.length, 10);
  assert.equal(new Set(body.items.map((i) => i.item_id)).size, 10);
  const scores = body.items.map((i) => i.score);
  assert.deepEqual(
    scores,
    [...scores].sort((a, b) => b - a),
    'best first',
  );
  const view = await serving.online.get<UserView>('user', 'u0');
  assert.ok(view && view.recent.length > 0, 'u0 has a history');
  const seen = new Set(view.recent.map((r) => r.item_id));
  for (const item of body.items) assert.ok(!seen.has(item.item_id), `${item.item_id} was seen by u0`);

  await responder.recommendations()!.served.flush();
  await until('the served list in rec.recommendations', async () => {
    const decoder = await platform.serde.decoder('rec.recommendations-value');
    for await (const record of readTopic(platform.log, 'rec.recommendations')) {
      const list: ServedRecommendations = await decoder.decode(record.value!);
      if (list.request_id !== 'req-u0-1') continue;
      assert.equal(record.key, 'u0');
      assert.deepEqual(
        list.items.map((i) => i.item_id),
        body.items.map((i) => i.item_id),
      );
      assert.equal(list.model_version, 'recstream@1');
      return true;
    }
    return false;
  });
});

test("a request with the ranker left out gets retrieval's order; offline scoring measures both on the same users", async () => {
  const service = responder.recommendations()!;
  const bundle = service.bundles.acquire()!;
  const trusted = bundle.rankerTrusted;
  bundle.release();
  assert.equal(trusted, true, "the served world's ranker beat the CTR baseline, so it serves");
  const now = Date.now();
  const ask = (userId: string, rank?: boolean) =>
    service.recommender.recommend({ userId, k: 10, now, assignment: null, rank });
  const holdout = new Map<string, Set<string>>();
  let overlap = 0;
  for (let u = 0; u < 40; u++) {
    const userId = `u${u}`;
    const ranked = await ask(userId);
    if (ranked.fallback !== null) continue;
    const unranked = await ask(userId, false);
    assert.equal(unranked.model_version, ranked.model_version);
    const top = new Set(ranked.items.map((i) => i.item_id));
    holdout.set(userId, top);
    overlap += unranked.items.filter((i) => top.has(i.item_id)).length / top.size;
  }
  assert.ok(holdout.size > 20, `${holdout.size} personalised users`);
  assert.ok(overlap < holdout.size, 'the ranker brings other items into some top 10s');
  // Relevant = each user's ranked top 10: the served lists find all of it, retrieval alone its overlap.
  const score = (retrievalAlone: boolean) =>
    scoreThroughServing({
      recommender: service.recommender,
      holdout,
      seen: new Map(),
      k: 10,
      catalogSize: service.catalog.size,
      now,
      retrievalAlone,
    });
  const scores = await score(true);
  assert.equal(scores.recstream.recall, 1);
  assert.ok(Math.abs(scores.retrieval_only!.recall - overlap / holdout.size) < 1e-12);
  assert.equal((await score(false)).retrieval_only, null);
});

test('the index searched is the f16 copy the indexer wrote beside the f32 one, its recall recorded', async () => {
  const full = (await IndexRegistry.load(platform.log, platform.serde)).versions('items')[0]!;
  const manifest = JSON.parse(await readFile(fileURLToPath(full.uri), 'utf8')) as IndexManifest;
  assert.equal(manifest.quantized?.quantization, 'f16');
  assert.ok(manifest.quantized!.recall_at_10 > 0.9, `f16 recall@10 ${manifest.quantized!.recall_at_10}`);
  assert.deepEqual(Object.keys(manifest.files).sort(), ['index-f16.usearch', 'index.usearch']);
  const bundle = responder.recommendations()!.bundles.acquire()!;
  try {
    assert.equal(bundle.indexLabel, 'items@1');
    assert.equal(bundle.ann.config.quantization, 'f16');
  } finally {
    bundle.release();
  }
});

test('bad requests get a 400 naming what is wrong; an unknown user gets the cold-start list', async () => {
  for (const [url, code] of [
    ['/v1/recommendations/u0?k=0', 'INVALID_K'],
    ['/v1/recommendations/u0?k=10000', 'INVALID_K'],
    ['/v1/recommendations/u0?k=abc', 'INVALID_K'],
    ['/v1/recommendations/u0?k=1.5', 'INVALID_K'],
    ['/v1/recommendations/u0?k=1&k=2', 'INVALID_QUERY'],
    [`/v1/recommendations/u0?surface=${'x'.repeat(65)}`, 'INVALID_QUERY'],
    ['/v1/recommendations/bad%20id', 'INVALID_USER_ID'],
    [`/v1/recommendations/${'u'.repeat(129)}`, 'INVALID_USER_ID'],
  ] as const) {
    const { status, body } = await get(url);
    assert.equal(status, 400, url);
    assert.equal(body.code, code, url);
    assert.ok(body.error && body.error.length > 10, url);
  }
  const unknown = await get('/v1/recommendations/never-seen-user?k=5');
  assert.equal(unknown.status, 200);
  assert.equal(unknown.body.fallback, 'cold_start');
  assert.equal(unknown.body.model_version, null);
  assert.equal(unknown.body.items.length, 5);
  const missing = await get('/v1/recommendations/');
  assert.equal(missing.status, 400);
  assert.equal(missing.body.code, 'INVALID_USER_ID');
});

test('a new catalog item is retrievable within 2 s of its rec.items event, without retraining', async () => {
  const view = await serving.online.get<UserView>('user', 'u0');
  const favourite = Object.entries(view!.affinity).sort((a, b) => b[1] - a[1])[0]![0];
  const item: Item = {
    item_id: 'i-new-1',
    title: 'A new item',
    categories: [favourite],
    tags: [],
    language: 'en',
    duration_s: 1800,
    release_ts: Date.now(),
    maturity: 'all',
    available: true,
    updated_ts: Date.now(),
  };
  const producer = createProducer({ log: platform.log, serde: platform.serde });
  const sent = Date.now();
  await producer.deliver('rec.items', [{ value: item }]);
  await producer.close();
  const service = responder.recommendations()!;
  const inList = async () => {
    const { body } = await get('/v1/recommendations/u0?k=100');
    return body.items.some((i) => i.item_id === item.item_id);
  };
  await until('the new item in u0 recommendations', inList, 2000);
  assert.ok(Date.now() - sent < 2000);
  assert.equal(served().model, 'recstream@1', 'served by the same model: no retraining');
  const bundle = service.bundles.acquire()!;
  try {
    assert.ok(bundle.keyFor(item.item_id) !== undefined);
  } finally {
    bundle.release();
  }
});

test('a pair loaded after its index was built catches up with the catalog: items added, changed or made unavailable since', async () => {
  const service = responder.recommendations()!;
  const model = (await ModelRegistry.load(platform.log, platform.serde)).get('recstream', 1)!;
  const index = (await IndexRegistry.load(platform.log, platform.serde)).fullFor('items', 'recstream', 1)!;
  const manifest = JSON.parse(await readFile(fileURLToPath(index.uri), 'utf8')) as IndexManifest;
  const inIndex = new Set(manifest.items.map(([itemId]) => itemId));
  const now = Date.now();
  const [gone, changed] = [...service.catalog.values()].filter((i) => i.available && inIndex.has(i.item_id));
  const added: Item = { ...changed!, item_id: 'i-load-new', title: 'Added after the index', updated_ts: now };
  const catalog = [...service.catalog.values()].map((item) =>
    item.item_id === gone!.item_id
      ? { ...item, available: false, updated_ts: now }
      : item.item_id === changed!.item_id
        ? { ...item, title: 'Changed after the index', updated_ts: now }
        : item,
  );
  catalog.push(added);
  const bundle = await ServingBundle.load({ store, model, index, catalog });
  try {
    const vocabulary = bundle.vocab.vocabularies.item;
    const available = catalog.filter((item) => item.available);
    assert.equal(bundle.ann.size, available.length, 'every available item indexed, no other');
    for (const item of available) assert.equal(bundle.itemAt(bundle.keyFor(item.item_id)!), item.item_id);
    assert.equal(bundle.keyFor(gone!.item_id), undefined, 'made unavailable: out of the index');
    assert.equal(
      bundle.keyFor(changed!.item_id),
      vocabulary.get(changed!.item_id),
      'changed: at its vocabulary index',
    );
    assert.ok(
      bundle.keyFor(added.item_id)! >= vocabulary.size,
      'unknown to the model: keyed past its vocabulary',
    );
    const search = await bundle.ann.search(new Float32Array(bundle.ann.config.dimensions).fill(0.1), 50);
    for (const key of search.keys) assert.ok(bundle.itemAt(key) !== undefined, `key ${key} names an item`);
  } finally {
    await bundle.retire();
  }
});

test('hot reload under load: two new versions and a rollback, no failed request, no mixed pair', {
  timeout: 300_000,
}, async () => {
  const trainer = new Trainer({ platform, store, engineDefaults: SERVED_WORLD_TRAIN_CONFIG });
  const indexer = new Indexer({ platform, store });
  const seenPairs = new Map<string, number>();
  const failures: string[] = [];
  let stop = false;
  const load = async (worker: number) => {
    for (let n = 0; !stop && n < 1_000_000; n++) {
      const res = await fetch(`${responder.url}/v1/recommendations/u${(worker * 37 + n) % 400}?k=10`);
      const body = (await res.json()) as Body;
      if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(body)}`);
      else if (body.fallback === null) {
        const pair = `${body.model_version}/${body.index_version}`;
        seenPairs.set(pair, (seenPairs.get(pair) ?? 0) + 1);
      }
    }
  };
  const workers = Array.from({ length: 4 }, (_, w) => load(w));
  try {
    for (const expected of [2, 3]) {
      const outcome = await trainer.trainOnce({ force: true });
      assert.equal(outcome.kind, 'published');
      assert.equal(outcome.kind === 'published' && outcome.version.version, expected);
      const index = await indexer.indexOnce();
      assert.equal(index.kind, 'full');
      await until(`recstream@${expected} served`, () => served().model === `recstream@${expected}`);
    }
    await rollbackModel(platform, store, { reason: 'test' });
    await until('recstream@2 served again', () => served().model === 'recstream@2');
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  assert.deepEqual(failures, []);
  const registry = await IndexRegistry.load(platform.log, platform.serde);
  const built = new Map(registry.versions('items').map((v) => [v.version, v]));
  for (const pair of seenPairs.keys()) {
    const [model, index] = pair.split('/') as [string, string];
    const indexVersion = built.get(Number(index.split('@')[1]));
    const base = indexVersion?.kind === 'delta' ? built.get(indexVersion.base_version!) : indexVersion;
    assert.equal(`recstream@${base?.model_version}`, model, `${pair}: the index was built for another model`);
  }
  for (const model of ['recstream@1', 'recstream@2', 'recstream@3'])
    assert.ok(
      [...seenPairs.keys()].some((p) => p.startsWith(`${model}/`)),
      `${model} served under load`,
    );
});

test('refused reloads keep the served pair: deleted model files, an index of another model version, an unpinned copy', async () => {
  const service = responder.recommendations()!;
  const before = served();
  assert.equal(before.model, 'recstream@2');
  const refusedBefore =
    (await service.metrics.reloads.get()).values.find((v) => v.labels.result === 'refused')?.value ?? 0;

  // v3's files deleted, then v3 promoted again: its artifacts no longer verify.
  const registry = await ModelRegistry.load(platform.log, platform.serde);
  const v3 = registry.get('recstream', 3)!;
  await rm(dirname(fileURLToPath(v3.artifacts[0]!.uri)), { recursive: true, force: true });
  const producer = createProducer({ log: platform.log, serde: platform.serde });
  try {
    await publishModelVersion(producer, { ...v3, status: 'promoted', status_ts: Date.now(), reason: 'test' });
    await until('the refusal of recstream@3', () => (served().problem ?? '').includes('recstream@3'));
    assert.match(served().problem!, /missing|sha256/);
    assert.equal(served().model, 'recstream@2');
    const during = await get('/v1/recommendations/u1?k=5');
    assert.equal(during.status, 200);
    assert.equal(during.body.model_version, 'recstream@2');

    // v2 promoted again, then a full index event for v2 whose manifest is v3's.
    const v2 = registry.get('recstream', 2)!;
    await publishModelVersion(producer, { ...v2, status: 'promoted', status_ts: Date.now(), reason: 'test' });
    const indexes = await IndexRegistry.load(platform.log, platform.serde);
    const ofV3 = indexes.fullFor('items', 'recstream', 3)!;
    await publishIndexVersion(producer, {
      ...ofV3,
      version: indexes.nextVersion('items'),
      model_version: 2,
      built_ts: Date.now(),
    });
    await until('the refusal of the mismatched index', () =>
      /built for|manifest is for/.test(served().problem ?? ''),
    );
    assert.equal(served().model, 'recstream@2');
    assert.equal(served().index, before.index);

    // v2's full index again, its manifest naming an f16 copy whose sha256 it does not list.
    const ofV2 = indexes.fullFor('items', 'recstream', 2)!;
    const unpinned = join(root, 'data', 'artifacts', 'indexes', 'unpinned-index');
    await cp(dirname(fileURLToPath(ofV2.uri)), unpinned, { recursive: true });
    const manifest = JSON.parse(await readFile(join(unpinned, 'index.json'), 'utf8')) as IndexManifest;
    await writeFile(
      join(unpinned, 'index.json'),
      JSON.stringify({ ...manifest, files: { 'index.usearch': manifest.files['index.usearch'] } }),
    );
    await publishIndexVersion(producer, {
      ...ofV2,
      version: (await IndexRegistry.load(platform.log, platform.serde)).nextVersion('items'),
      uri: pathToFileURL(join(unpinned, 'index.json')).href,
      sha256: await sha256File(join(unpinned, 'index.json')),
      built_ts: Date.now(),
    });
    await until('the refusal of the unpinned copy', () =>
      /index-f16.usearch without its sha256/.test(served().problem ?? ''),
    );
    assert.equal(served().model, 'recstream@2');
    assert.equal(served().index, before.index);
  } finally {
    await producer.close();
  }
  const ready = await responder.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  const refusedAfter = (await service.metrics.reloads.get()).values.find(
    (v) => v.labels.result === 'refused',
  )!.value;
  assert.ok(refusedAfter >= refusedBefore + 3);
});

test('an index or model event whose URI leads out of the artifacts root is refused; the served pair stays', async () => {
  const service = responder.recommendations()!;
  const before = served();
  const refused = async () =>
    (await service.metrics.reloads.get()).values.find((v) => v.labels.result === 'refused')?.value ?? 0;
  const refusedBefore = await refused();
  const artifacts = join(root, 'data', 'artifacts');
  const indexes = await IndexRegistry.load(platform.log, platform.serde);
  const ofV2 = indexes.fullFor('items', 'recstream', 2)!;
  // A whole, verifying copy of v2's index outside the root, reached through a symlink inside it.
  const outside = join(root, 'outside-index');
  await cp(dirname(fileURLToPath(ofV2.uri)), outside, { recursive: true });
  await symlink(outside, join(artifacts, 'indexes', 'linked-out'));
  const producer = createProducer({ log: platform.log, serde: platform.serde });
  try {
    for (const uri of [
      'file:///etc/passwd',
      `${pathToFileURL(artifacts).href}/../outside-index/index.json`,
      pathToFileURL(join(artifacts, 'indexes', 'linked-out', 'index.json')).href,
    ]) {
      const version = (await IndexRegistry.load(platform.log, platform.serde)).nextVersion('items');
      await publishIndexVersion(producer, { ...ofV2, version, uri, built_ts: Date.now() });
      await until(`the refusal of ${uri}`, () => (served().problem ?? '').includes(`items@${version}`));
      assert.match(served().problem!, new RegExp(`outside the artifacts root ${artifacts}`));
      assert.equal(served().model, before.model);
      assert.equal(served().index, before.index);
    }
    // A model event whose files are /etc/passwd, with an index event for it.
    const registry = await ModelRegistry.load(platform.log, platform.serde);
    const v2 = registry.get('recstream', 2)!;
    const version = registry.nextVersion('recstream');
    await publishModelVersion(producer, {
      ...v2,
      version,
      artifacts: v2.artifacts.map((a) => ({ ...a, uri: 'file:///etc/passwd' })),
      status: 'promoted',
      status_ts: Date.now(),
      reason: 'test',
    });
    await publishIndexVersion(producer, {
      ...ofV2,
      version: (await IndexRegistry.load(platform.log, platform.serde)).nextVersion('items'),
      model_version: version,
      built_ts: Date.now(),
    });
    await until('the refusal of the model outside the root', () =>
      (served().problem ?? '').includes(`recstream@${version}`),
    );
    assert.match(
      served().problem!,
      /file:\/\/\/etc\/passwd resolves to \/etc\/passwd, outside the artifacts root/,
    );
    assert.equal(served().model, before.model);
    const during = await get('/v1/recommendations/u1?k=5');
    assert.equal(during.status, 200);
    assert.equal(during.body.model_version, before.model);
  } finally {
    await producer.close();
  }
  assert.ok((await refused()) >= refusedBefore + 4);
});
