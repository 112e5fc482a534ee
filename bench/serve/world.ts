/**
 * The world the `serve` and `freshness` suites serve from: a simulated
 * catalog of 100,000 items, three model versions trained on it for real
 * (simulate → `process` features and snapshots → `train --once` →
 * `index --once`, as an operator runs them; 64-d embeddings, two retrieval
 * epochs, one ranker epoch, gates off since these suites measure serving,
 * not quality), each with its own full index, and v1 promoted again at the
 * end so that a run can publish v2 and v3 as new versions under load.
 *
 * Building it takes minutes (three trainings and three 94,000-item HNSW
 * indexes on two cores), so it is built once and cached under the data dir
 * (`$RECSTREAM_DATA_DIR`, default `./data`) in
 * `bench-cache/serve-<scale>-<key>/`, where `<key>` hashes the sizes, the
 * training settings, the Avro schemas and the training engine's source: a
 * change to any of them builds a new world (and removes the other worlds of
 * that scale). `RECSTREAM_BENCH_REBUILD=1` rebuilds it anyway. A build that
 * did not finish has no `world.json` and is started over.
 *
 * A suite never serves from the cache itself: `copyWorld` copies the data
 * dir (log, state, registry) to the suite's work dir and links the
 * artifacts, which are immutable and which the model and index events name
 * by absolute `file://` URI anyway.
 *
 * @example
 * ```ts
 * const world = await serveWorld('small', progress);
 * const dataDir = await copyWorld(world, join(workDir, 'data'));
 * world.usersWithHistory[0]; // 'u0'
 * ```
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IndexRegistry } from '../../registry/index-registry.js';
import { ModelRegistry } from '../../registry/model-registry.js';
import { readTopic } from '../../registry/topic-reader.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { openPlatform } from '../../schemas/platform.js';
import { recstream } from '../recstream-cli.js';
import type { Scale } from '../result.js';

/** Bumped when what is built, or how, changes in a way the key does not see (2: indexes of format 2, lifted). */
const WORLD_FORMAT = 2;
const MODELS = 3;
const HERE = dirname(fileURLToPath(import.meta.url));
/** dist/bench/serve → the package root. */
const ROOT = resolve(HERE, '../../..');

export const WORLD_SIZES = {
  small: { users: 20_000, items: 100_000, events: 200_000, days: 7, seed: 7 },
  full: { users: 100_000, items: 100_000, events: 1_000_000, days: 28, seed: 7 },
} as const;

/** Engine settings of every version; each version gets its own seed, so their results differ. */
const TRAIN_CONFIG = { dim: 64, epochs: 2, ranker_epochs: 1, refit: false, threads: 2 };

const BUILD_ENV = {
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '5000',
  // Every version is promoted: the suites need versions to swap between, not better ones.
  RECSTREAM_GATE_POPULARITY_MARGIN: '1',
  RECSTREAM_GATE_PREVIOUS_MARGIN: '1',
  // The copy responders search by default; pinned so the world does not follow the environment's.
  RECSTREAM_INDEX_QUANTIZATION: 'f16',
};

export interface World {
  readonly dir: string;
  readonly dataDir: string;
  readonly scale: Scale;
  readonly sizes: (typeof WORLD_SIZES)[Scale];
  readonly trainConfig: Readonly<Record<string, unknown>>;
  /** Catalog records the simulator wrote and items in each full index (the available ones). */
  readonly catalogItems: number;
  readonly indexedItems: number;
  /** Users with at least one interaction on the log, by number: they get personalised lists. */
  readonly usersWithHistory: readonly string[];
  /** `items@N` → `recstream@M`: the model version each index version was built for. */
  readonly indexModels: Readonly<Record<string, string>>;
  /** The model versions (1…3), v1 promoted as the world is handed over. */
  readonly modelVersions: readonly number[];
  readonly model: string;
  readonly buildSeconds: number;
}

type WorldFile = Omit<World, 'dir' | 'dataDir'> & { readonly format: number; readonly key: string };

async function worldKey(scale: Scale): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ WORLD_FORMAT, MODELS, sizes: WORLD_SIZES[scale], TRAIN_CONFIG, BUILD_ENV }));
  // What a cached world depends on besides its settings: the record formats and the engine that exported the models.
  for (const dir of [join(ROOT, 'dist', 'schemas'), join(ROOT, 'models', 'recstream_models')])
    for (const file of await listFiles(dir))
      if (/\.(avsc|py)$/.test(file)) hash.update(relative(ROOT, file)).update(await readFile(file));
  return hash.digest('hex').slice(0, 16);
}

async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out.sort();
}

/** The cached world of this scale, built first when there is none (or it is out of date). */
export async function serveWorld(scale: Scale, progress: (message: string) => void): Promise<World> {
  const cacheRoot = join(loadConfig().dataDir, 'bench-cache');
  const key = await worldKey(scale);
  const dir = join(cacheRoot, `serve-${scale}-${key}`);
  const manifest = join(dir, 'world.json');
  if (process.env.RECSTREAM_BENCH_REBUILD !== '1' && existsSync(manifest)) {
    const file = JSON.parse(await readFile(manifest, 'utf8')) as WorldFile;
    progress(`using the cached world ${dir} (built in ${Math.round(file.buildSeconds)} s)`);
    return { ...file, dir, dataDir: join(dir, 'data') };
  }
  await mkdir(cacheRoot, { recursive: true });
  for (const entry of await readdir(cacheRoot))
    if (entry.startsWith(`serve-${scale}-`))
      await rm(join(cacheRoot, entry), { recursive: true, force: true });
  const world = await build(scale, key, dir, progress);
  const { dir: _dir, dataDir: _dataDir, ...rest } = world;
  await writeFile(
    manifest,
    `${JSON.stringify({ format: WORLD_FORMAT, key, ...rest } satisfies WorldFile)}\n`,
  );
  return world;
}

async function build(
  scale: Scale,
  key: string,
  dir: string,
  progress: (message: string) => void,
): Promise<World> {
  const sizes = WORLD_SIZES[scale];
  const dataDir = join(dir, 'data');
  const started = performance.now();
  const step = async (what: string, args: string[], env: Record<string, string> = {}) => {
    const t0 = performance.now();
    await recstream([...args, '--data-dir', dataDir], { ...BUILD_ENV, ...env });
    progress(`world ${key}: ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  };
  progress(
    `building the ${scale} world in ${dir}: ${sizes.users.toLocaleString('en-US')} users × ${sizes.items.toLocaleString('en-US')} items, ${sizes.events.toLocaleString('en-US')} events, ${MODELS} model versions (minutes; cached for the next run)`,
  );
  await step('simulated', [
    'simulate',
    '--users',
    String(sizes.users),
    '--items',
    String(sizes.items),
    '--events',
    String(sizes.events),
    '--days',
    String(sizes.days),
    '--seed',
    String(sizes.seed),
  ]);
  for (const app of ['features', 'snapshots'])
    await step(`processed ${app}`, ['process', '--app', app, '--once']);
  for (let version = 1; version <= MODELS; version++) {
    const config = JSON.stringify({ ...TRAIN_CONFIG, seed: version });
    await step(`trained v${version}`, ['train', '--once', ...(version > 1 ? ['--force'] : [])], {
      RECSTREAM_TRAIN_CONFIG: config,
    });
    await step(`indexed v${version}`, ['index', '--once']);
  }
  await step('promoted v1 again', [
    'models',
    'promote',
    '1',
    '--reason',
    'bench world: serving starts at v1',
  ]);

  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  try {
    const models = await ModelRegistry.load(platform.log, platform.serde);
    const model = loadConfig({}, { dataDir }).modelName;
    const versions = models.versions(model).map((v) => v.version);
    if (versions.length !== MODELS || models.promoted(model)?.version !== 1)
      throw new Error(
        `bench world: expected ${MODELS} versions with v1 promoted, got ${JSON.stringify(versions)}`,
      );
    const indexes = (await IndexRegistry.load(platform.log, platform.serde)).versions(
      loadConfig({}, { dataDir }).indexName,
    );
    const indexModels: Record<string, string> = {};
    for (const v of indexes) indexModels[`${v.index}@${v.version}`] = `${v.model}@${v.model_version}`;
    const fulls = indexes.filter((v) => v.kind === 'full');
    if (fulls.length !== MODELS)
      throw new Error(`bench world: expected ${MODELS} full indexes, got ${fulls.length}`);
    const decoder = await platform.serde.decoder('rec.interactions-value');
    const active = new Set<string>();
    for await (const record of readTopic(platform.log, 'rec.interactions'))
      active.add((await decoder.decode(record.value!)).user_id);
    let catalogItems = 0;
    const seen = new Set<string>();
    for await (const record of readTopic(platform.log, 'rec.items'))
      if (record.key !== null && !seen.has(record.key)) {
        seen.add(record.key);
        catalogItems++;
      }
    const number = (user: string) => Number(user.slice(1));
    const world: World = {
      dir,
      dataDir,
      scale,
      sizes,
      trainConfig: TRAIN_CONFIG,
      catalogItems,
      indexedItems: fulls[0]!.item_count,
      usersWithHistory: [...active].sort((a, b) => number(a) - number(b)),
      indexModels,
      modelVersions: versions,
      model,
      buildSeconds: (performance.now() - started) / 1000,
    };
    progress(
      `world ${key} built in ${Math.round(world.buildSeconds)} s: ${catalogItems.toLocaleString('en-US')} items (${world.indexedItems.toLocaleString('en-US')} available and indexed), ${active.size.toLocaleString('en-US')} users with history`,
    );
    return world;
  } finally {
    await platform.close();
  }
}

/**
 * A private copy of the world's data dir at `target` (log, state, registry
 * copied; artifacts linked), so that what a run writes (served lists,
 * events, promotions) never reaches the cache.
 */
export async function copyWorld(world: World, target: string): Promise<string> {
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  for (const entry of await readdir(world.dataDir)) {
    const from = join(world.dataDir, entry);
    if (entry === 'artifacts') await symlink(from, join(target, entry));
    else await cp(from, join(target, entry), { recursive: true });
  }
  return target;
}
