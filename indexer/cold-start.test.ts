/**
 * Cold start, end to end: items added to the catalog after the model was
 * trained get embeddings from its exported item tower (in Node), arrive as a
 * delta index version, and are retrieved for the users whose taste matches
 * their categories — not for everyone alike.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withUserFeatures } from '../evaluation/user-features.js';
import { loadModelVocabularies, userTowerInputs } from '../features/model-inputs.js';
import { readNpy } from '../inference/npy.js';
import { UserTower } from '../inference/onnx-models.js';
import { readCatalog } from '../registry/catalog.js';
import { IndexRegistry } from '../registry/index-registry.js';
import { createProducer } from '../runtime/producer/producer.js';
import type { Item, ModelVersion } from '../schemas/generated/types.js';
import { runCliOk } from '../test/cli.js';
import { withTestPlatform } from '../test/platform.js';
import type { DeltaManifest } from './indexer.js';

const ENV = {
  RECSTREAM_COMMIT_INTERVAL_MS: '50',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '5000',
  RECSTREAM_TRAIN_CONFIG: JSON.stringify({ epochs: 8, ranker_epochs: 1, refit: false, threads: 2 }),
  // The gate is not what this test is about (a small world, a ranker trained for one epoch).
  RECSTREAM_GATE_POPULARITY_MARGIN: '0.3',
};
const cli = async (args: string[]) => (await runCliOk(args, ENV)).stdout;
const NO_CONTEXT = { device: null, country: null, session_id: null, surface: null, request_id: null };

test('new catalog items get item-tower embeddings in a delta index and reach the users whose taste matches them', {
  timeout: 600_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-cold-start-'));
  const dataDir = join(root, 'data');
  try {
    await cli([
      'simulate',
      '--users',
      '600',
      '--items',
      '200',
      '--events',
      '40000',
      '--days',
      '5',
      '--seed',
      '4',
      '--data-dir',
      dataDir,
    ]);
    for (const app of ['features', 'snapshots'])
      await cli(['process', '--app', app, '--once', '--data-dir', dataDir]);
    await cli(['train', '--once', '--data-dir', dataDir]);
    const [model] = JSON.parse(
      await cli(['models', 'list', '--json', '--data-dir', dataDir]),
    ) as ModelVersion[];
    assert.equal(model!.status, 'promoted', model!.reason ?? '');
    assert.match(await cli(['index', '--once', '--data-dir', dataDir]), /items v1 full/);

    // New releases: for the catalog's most common category, five items nobody has seen, with only metadata.
    const added = await withTestPlatform(dataDir, async ({ log, serde }) => {
      const catalog = [...(await readCatalog(log, serde)).values()];
      const counts = new Map<string, number>();
      for (const item of catalog) for (const c of item.categories) counts.set(c, (counts.get(c) ?? 0) + 1);
      const category = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
      const template = catalog.find((i) => i.categories[0] === category)!;
      const items: Item[] = Array.from({ length: 5 }, (_, n) => ({
        ...template,
        item_id: `new-${n}`,
        title: `New release ${n}`,
        categories: [category],
        updated_ts: Date.now(),
      }));
      const producer = createProducer({ log, serde });
      await producer.deliver(
        'rec.items',
        items.map((value) => ({ value })),
      );
      await producer.close();
      return { category, items };
    });
    const delta = await cli(['index', '--once', '--data-dir', dataDir]);
    assert.match(delta, /items v2 delta for recstream v1: 5 items/);

    await withTestPlatform(dataDir, async (platform) => {
      const versions = (await IndexRegistry.load(platform.log, platform.serde)).versions('items');
      const manifest = JSON.parse(await readFile(fileURLToPath(versions[1]!.uri), 'utf8')) as DeltaManifest;
      assert.deepEqual(
        manifest.upserts.map((u) => u.item_id).sort(),
        added.items.map((i) => i.item_id),
      );
      const modelDir = dirname(fileURLToPath(model!.artifacts[0]!.uri));
      const vocab = await loadModelVocabularies(join(modelDir, 'dataset.json'));
      const table = readNpy(await readFile(join(modelDir, 'item_embeddings.npy')), 'item_embeddings.npy');
      const dims = table.shape[1]!;
      const tower = await UserTower.load(join(modelDir, 'user_tower.onnx'));
      const users = Array.from({ length: 600 }, (_, i) => `u${i}`);
      const now = Date.now();
      const { affinity, embeddings } = await withUserFeatures(platform, async (read) => {
        const features = await read(users, now);
        const batch = userTowerInputs(
          users.map((userId, i) => ({ userId, features: features[i]!, context: NO_CONTEXT, ts: now })),
          vocab,
        );
        return {
          affinity: features.map((f) => f.category_affinity[added.category] ?? 0),
          embeddings: await tower.embed(batch),
        };
      });
      await tower.close();
      const dot = (u: number, v: ArrayLike<number>) => {
        let s = 0;
        for (let d = 0; d < dims; d++) s += embeddings[u * dims + d]! * v[d]!;
        return s;
      };
      // Each new item's rank among every trained item, for each user.
      const items = vocab.manifest.vocabularies.item.length;
      const matrix = table.data as Float32Array;
      const rank = (u: number, vector: readonly number[]) => {
        const score = dot(u, vector);
        let above = 0;
        for (let r = 1; r < items; r++)
          if (dot(u, matrix.subarray(r * dims, (r + 1) * dims)) > score) above++;
        return above / (items - 1);
      };
      const order = users.map((_, i) => i).sort((a, b) => affinity[b]! - affinity[a]!);
      const fans = order.slice(0, 40);
      const others = order.slice(-40);
      const meanRank = (group: number[]) =>
        group.reduce(
          (s, u) =>
            s + manifest.upserts.reduce((t, it) => t + rank(u, it.vector), 0) / manifest.upserts.length,
          0,
        ) / group.length;
      const fansRank = meanRank(fans);
      const othersRank = meanRank(others);
      assert.ok(
        fansRank < 0.25,
        `new items rank at ${(fansRank * 100).toFixed(1)}% for users who like ${added.category}`,
      );
      assert.ok(
        fansRank < 0.6 * othersRank,
        `fans ${fansRank.toFixed(3)} vs others ${othersRank.toFixed(3)}`,
      );
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
