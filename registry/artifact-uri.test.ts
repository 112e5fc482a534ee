/**
 * Artifact URIs come from topics: every reader resolves them through the
 * store's `localPath`, which refuses a path outside the artifacts root
 * (`/etc/passwd`, `<root>/../x`, a symlink out of the root) before a byte
 * is read. The indexer refuses such a promoted model as a round (logged,
 * counted, still running); `recstream models promote` refuses it and
 * publishes nothing. Each outside file here has the sha256 its event
 * names, so only the confinement stands between it and a reader.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Indexer } from '../indexer/indexer.js';
import { loadConfig } from '../runtime/config.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { createProducer } from '../runtime/producer/producer.js';
import type { Artifact, ModelVersion } from '../schemas/generated/types.js';
import { openPlatform, type Platform } from '../schemas/platform.js';
import { runCli } from '../test/cli.js';
import { ArtifactUriError } from './errors.js';
import { IndexRegistry, publishIndexVersion } from './index-registry.js';
import { ModelRegistry, publishModelVersion } from './model-registry.js';
import { artifactFile, FileArtifactStore, sha256File } from './model-store.js';

async function withRoot(fn: (dir: string, root: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-artifact-uri-'));
  const root = join(dir, 'data', 'artifacts');
  await mkdir(root, { recursive: true });
  try {
    await fn(dir, root);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a URI outside the artifacts root is refused by name, its root named: absolute, .., a symlink out', async () => {
  await withRoot(async (dir, root) => {
    const store = new FileArtifactStore(root);
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'model.npz'), 'weights from elsewhere');
    await mkdir(join(root, 'models', 'm'), { recursive: true });
    await symlink(outside, join(root, 'models', 'm', 'v9'));
    for (const uri of [
      'file:///etc/passwd',
      `${pathToFileURL(root).href}/../outside/model.npz`,
      pathToFileURL(join(root, 'models', 'm', 'v9', 'model.npz')).href,
    ])
      assert.throws(
        () => store.localPath(uri),
        (error: unknown) =>
          error instanceof ArtifactUriError &&
          error.code === 'ARTIFACT_URI_OUTSIDE_ROOT' &&
          error.message.includes(uri) &&
          error.message.includes(`outside the artifacts root ${root}`),
        uri,
      );
    assert.throws(() => store.localPath('https://example.com/model.npz'), /not a file:\/\/ URI/);
    assert.throws(
      () => store.localPath(pathToFileURL(root).href),
      /outside the artifacts root/,
      'the root itself',
    );
  });
});

test('a URI inside the root reads the real file, symlinks within the root included, missing files too', async () => {
  await withRoot(async (_dir, root) => {
    const store = new FileArtifactStore(root);
    const v1 = join(root, 'models', 'm', 'v1');
    await mkdir(v1, { recursive: true });
    await writeFile(join(v1, 'model.npz'), 'weights');
    await symlink(v1, join(root, 'models', 'm', 'latest'));
    assert.equal(store.localPath(pathToFileURL(join(v1, 'model.npz')).href), join(v1, 'model.npz'));
    assert.equal(
      store.localPath(pathToFileURL(join(root, 'models', 'm', 'latest', 'model.npz')).href),
      join(v1, 'model.npz'),
    );
    assert.equal(store.localPath(pathToFileURL(join(v1, 'gone.onnx')).href), join(v1, 'gone.onnx'));
    assert.equal(artifactFile(v1, 'index.usearch'), join(v1, 'index.usearch'));
    for (const name of ['../x', 'a/b', '..', ''])
      assert.throws(() => artifactFile(v1, name), ArtifactUriError, JSON.stringify(name));
  });
});

test('put publishes a whole version directory: every file complete, no temporary directory left', async () => {
  await withRoot(async (dir, root) => {
    const store = new FileArtifactStore(root);
    const source = join(dir, 'out');
    await mkdir(source);
    const big = Buffer.alloc(3 << 20, 7);
    await writeFile(join(source, 'item_embeddings.npy'), big);
    await writeFile(join(source, 'dataset.json'), '{"vocabularies":{}}');
    const artifacts = await store.put('models', 'm', 1, source);
    assert.deepEqual(await readdir(join(root, 'models', 'm')), ['v1']);
    assert.deepEqual(
      (await readFile(join(root, 'models', 'm', 'v1', 'item_embeddings.npy'))).equals(big),
      true,
    );
    await store.verify(artifacts);
  });
});

const ENV = { RECSTREAM_LOG_FSYNC: 'never' };

async function withPlatform<T>(dataDir: string, fn: (platform: Platform) => Promise<T>): Promise<T> {
  const platform = await openPlatform(loadConfig(ENV, { dataDir }), { logger: silentLogger() });
  try {
    return await fn(platform);
  } finally {
    await platform.close();
  }
}

/** A data dir whose registry holds `recstream` v1 with `artifacts`, status `status`. */
async function withModel(
  status: ModelVersion['status'],
  artifacts: (root: string, dir: string) => Promise<Artifact[]>,
  fn: (dataDir: string, store: FileArtifactStore) => Promise<void>,
): Promise<void> {
  await withRoot(async (dir, root) => {
    const dataDir = join(dir, 'data');
    await withPlatform(dataDir, async (platform) => {
      const producer = createProducer({
        log: platform.log,
        serde: platform.serde,
        createTopics: { partitions: platform.config.partitions },
      });
      await publishModelVersion(producer, {
        model: platform.config.modelName,
        version: 1,
        snapshot_id: 'set-1',
        lineage: [],
        created_ts: 1,
        artifacts: await artifacts(root, dir),
        metrics: { recall_at_20: 0.3 },
        status,
        status_ts: 1,
        reason: 'test',
        parent_version: null,
        engine: 'test',
        device: 'cpu',
        params: {},
      });
      await producer.close();
    });
    await fn(dataDir, new FileArtifactStore(root));
  });
}

/** A model's files outside the root, reached through a symlink inside it, their sha256 right. */
async function linkedOutside(root: string, dir: string): Promise<Artifact[]> {
  const outside = join(dir, 'elsewhere');
  await mkdir(outside);
  await writeFile(join(outside, 'dataset.json'), '{"vocabularies":{}}');
  await writeFile(join(outside, 'item_embeddings.npy'), 'not really');
  await mkdir(join(root, 'models', 'recstream'), { recursive: true });
  await symlink(outside, join(root, 'models', 'recstream', 'v1'));
  return Promise.all(
    ['dataset.json', 'item_embeddings.npy'].map(async (name) => ({
      name,
      uri: pathToFileURL(join(root, 'models', 'recstream', 'v1', name)).href,
      sha256: await sha256File(join(outside, name)),
      size_bytes: 10,
    })),
  );
}

test('the indexer refuses a promoted model whose URIs lead out of the root: counted, nothing built, still running', async () => {
  await withModel('promoted', linkedOutside, (dataDir, store) =>
    withPlatform(dataDir, async (platform) => {
      const outcome = await new Indexer({ platform, store }).indexOnce();
      assert.equal(outcome.kind, 'refused');
      assert.match(
        (outcome as { detail: string }).detail,
        /models\/recstream\/v1\/.* outside the artifacts root/,
      );
      const again = await new Indexer({ platform, store }).indexOnce();
      assert.equal(again.kind, 'refused', 'the next round refuses it again, without throwing');
      const counted = (await platform.metrics.getSingleMetric('recstream_indexer_refused_total')!.get())
        .values;
      assert.deepEqual(
        counted.map((v) => [v.labels.code, v.value]),
        [['ARTIFACT_URI_OUTSIDE_ROOT', 2]],
      );
      const indexes = await IndexRegistry.load(platform.log, platform.serde);
      assert.deepEqual(indexes.versions('items'), []);
    }),
  );
});

test('`recstream models promote` refuses a version whose artifact is /etc/passwd, and publishes nothing', async () => {
  const passwd = async (): Promise<Artifact[]> => [
    {
      name: 'dataset.json',
      uri: 'file:///etc/passwd',
      sha256: await sha256File('/etc/passwd'),
      size_bytes: 1,
    },
  ];
  await withModel('rejected', passwd, async (dataDir) => {
    const refused = await runCli(['models', 'promote', '1', '--data-dir', dataDir], ENV);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /artifact URI file:\/\/\/etc\/passwd resolves to \/etc\/passwd, outside the artifacts root/,
    );
    await withPlatform(dataDir, async (platform) => {
      const registry = await ModelRegistry.load(platform.log, platform.serde);
      assert.equal(registry.promoted(platform.config.modelName), undefined);
    });
  });
});

test('the indexer hashes the index manifest it reads: one changed after its event is refused, not built on', async () => {
  const inRoot = async (root: string, dir: string): Promise<Artifact[]> => {
    const source = join(dir, 'trained');
    await mkdir(source);
    await writeFile(join(source, 'dataset.json'), '{"vocabularies":{}}');
    return new FileArtifactStore(root).put('models', 'recstream', 1, source);
  };
  await withModel('promoted', inRoot, (dataDir, store) =>
    withPlatform(dataDir, async (platform) => {
      const work = join(dataDir, 'index-work');
      await mkdir(work);
      const manifest = {
        format: 'recstream-index/1',
        model: 'recstream',
        model_version: 1,
        dimensions: 4,
        metric: 'ip',
        items: [],
        files: {},
      };
      await writeFile(join(work, 'index.json'), JSON.stringify(manifest));
      const [main] = await store.put('indexes', 'items', 1, work);
      const producer = createProducer({
        log: platform.log,
        serde: platform.serde,
        createTopics: { partitions: platform.config.partitions },
      });
      await publishIndexVersion(producer, {
        index: 'items',
        version: 1,
        model: 'recstream',
        model_version: 1,
        kind: 'full',
        base_version: null,
        uri: main!.uri,
        sha256: main!.sha256,
        item_count: 0,
        dimensions: 4,
        metric: 'ip',
        built_ts: 1,
      });
      await producer.close();
      assert.equal((await new Indexer({ platform, store }).indexOnce()).kind, 'up-to-date');
      await appendFile(store.localPath(main!.uri), ' ');
      const outcome = await new Indexer({ platform, store }).indexOnce();
      assert.equal(outcome.kind, 'refused');
      assert.match(
        (outcome as { detail: string }).detail,
        /index items v1 manifest at .*index\.json has sha256 [0-9a-f]{64}, expected/,
      );
    }),
  );
});
