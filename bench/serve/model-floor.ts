/**
 * The model-compute floor of a recommendation: in the bench process, on
 * one thread, with no HTTP and no messages, the promoted model's user
 * tower (onnxruntime, one intra-op thread, as a responder's session runs
 * it), the ANN search of its served index copy (the configured expansion,
 * the recommender's candidate count, seen and unavailable items filtered
 * out) and the ranker over those candidates, request after request, for
 * users of the served world. Requests per CPU-second of this process
 * (`process.cpuUsage`, every thread) is what serving could reach if it did
 * nothing but compute; the responder's own figure over it is serving's
 * overhead.
 *
 * Inputs are built before the clock starts, with the serving code's own
 * functions (the user's view from the online store, `servingFeatures`,
 * `userTowerInputs`, `ItemRows`, `encodedRankerInputs`): the loop times the
 * three computations only. Each user's ranker batch holds the candidates
 * their search found while the inputs were built, the ones the loop's
 * search finds again.
 *
 * @example
 * ```ts
 * const floor = await modelFloor({ dataDir, redisUrl, users, seconds: 10 });
 * floor.requestsPerCpuS;
 * ```
 */
import { join } from 'node:path';
import { activeNamespaceOf } from '../../app/platform.js';
import { MODEL_ARTIFACTS } from '../../features/feature-service.js';
import {
  encodedRankerInputs,
  loadModelVocabularies,
  type UserQuery,
  userTowerInputs,
} from '../../features/model-inputs.js';
import { servingFeatures } from '../../features/views/serving.js';
import type { UserView } from '../../features/views/user-view.js';
import { annConfigOf } from '../../indexer/index-files.js';
import { AnnIndex } from '../../inference/ann-index.js';
import { loadModels, type RankerInputs, type UserTowerInputs } from '../../inference/onnx-models.js';
import { SessionThread } from '../../inference/session-thread.js';
import { IndexRegistry } from '../../registry/index-registry.js';
import { ModelRegistry } from '../../registry/model-registry.js';
import { artifactFile, artifactStore } from '../../registry/model-store.js';
import { readTopic } from '../../registry/topic-reader.js';
import {
  locateArtifacts,
  readIndexManifest,
  servedIndexFile,
} from '../../responders/recommend/bundle-verification.js';
import { ItemKeys } from '../../responders/recommend/item-keys.js';
import { ItemRows } from '../../responders/recommend/item-rows.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { openOnlineStore } from '../../runtime/online/open.js';
import type { Platform } from '../../runtime/platform.js';
import type { Item, User } from '../../schemas/generated/types.js';
import { openPlatform } from '../../schemas/platform.js';
import { onlineViews } from '../../topologies/online-views.js';

/** Keys the recommender asks of the index past those its filters are known to drop. */
const SEARCH_SLACK = 8;

export interface FloorFigures {
  readonly requestsPerCpuS: number;
  readonly requests: number;
  readonly cpuSeconds: number;
  /** Users served a personalised list (a view, not opted out), whose inputs the loop cycles over. */
  readonly users: number;
  readonly candidates: number;
  readonly annExpansion: number;
  readonly annFile: string;
  readonly rankerTrusted: boolean;
}

interface Prepared {
  readonly user: UserTowerInputs;
  readonly exclude: (key: number) => boolean;
  readonly margin: number;
  readonly ranker: RankerInputs;
}

/** The latest value of each key of a table topic. */
async function table<T>(platform: Platform, topic: string): Promise<Map<string, T>> {
  const decoder = await platform.serde.decoder(`${topic}-value`);
  const out = new Map<string, T>();
  for await (const record of readTopic(platform.log, topic))
    if (record.key !== null) {
      if (record.value === null) out.delete(record.key);
      else out.set(record.key, (await decoder.decode(record.value)) as T);
    }
  return out;
}

export async function modelFloor(options: {
  readonly dataDir: string;
  readonly redisUrl: string;
  readonly users: readonly string[];
  readonly seconds: number;
}): Promise<FloorFigures> {
  const { dataDir, seconds } = options;
  const config = loadConfig({ RECSTREAM_REDIS_URL: options.redisUrl }, { dataDir });
  const logger = silentLogger();
  const platform = await openPlatform(config, { logger, readOnly: true });
  try {
    const model = (await ModelRegistry.load(platform.log, platform.serde)).promoted(config.modelName);
    if (model === undefined) throw new Error(`model floor: ${config.modelName} has no promoted version`);
    const index = (await IndexRegistry.load(platform.log, platform.serde))
      .versions(config.indexName)
      .filter((v) => v.kind === 'full' && v.model_version === model.version)
      .at(-1);
    if (index === undefined)
      throw new Error(`model floor: no full index of ${model.model} v${model.version}`);
    const store = artifactStore(dataDir);
    const { indexDir, modelDir } = locateArtifacts(store, model, index);
    const datasetPath = join(modelDir, MODEL_ARTIFACTS.dataset);
    const reader = new SessionThread();
    const { manifest, items } = await readIndexManifest(reader, store, index, datasetPath).finally(() =>
      reader.endIfIdle(),
    );
    const vocab = await loadModelVocabularies(datasetPath);
    const keys = new ItemKeys(vocab.vocabularies.item, items);
    const annFile = servedIndexFile(manifest, config.serveAnnCopy);
    const ann = AnnIndex.load(artifactFile(indexDir, annFile), {
      ...annConfigOf(manifest),
      expansionSearch: config.serveAnnExpansion,
    });
    const models = await loadModels(modelDir, { threads: 1 });
    const online = await openOnlineStore(
      config,
      await onlineViews(platform.serde, { namespaceOf: activeNamespaceOf(dataDir) }),
      logger,
    );
    try {
      const catalog = await table<Item>(platform, 'rec.items');
      const profiles = await table<User>(platform, 'rec.users');
      const itemRows = new ItemRows((ids) => online.getMany('item', ids), catalog);
      const dims = ann.config.dimensions;
      const wanted = config.serveCandidates;
      const now = Date.now();
      const prepared: Prepared[] = [];
      for (const userId of options.users) {
        const view = await online.get<UserView>('user', userId);
        if (view === undefined || (view.event_count === 0 && view.pending.length === 0)) continue;
        const profile = profiles.get(userId);
        // Served popularity, with no model computation: not part of the floor.
        if (profile?.opt_out) continue;
        const country = profile?.country ?? null;
        const features = servingFeatures(view, now, profile, (item) => catalog.get(item));
        const query: UserQuery = {
          userId,
          features,
          context: { device: null, country, session_id: null, surface: null, request_id: null },
          ts: now,
        };
        const user = userTowerInputs([query], vocab);
        const seen = new Set(features.recent_items.map((r) => r.item_id));
        const exclude = (key: number) => {
          const itemId = keys.itemAt(key);
          if (itemId === undefined || seen.has(itemId)) return true;
          const item = catalog.get(itemId);
          return item === undefined || !item.available;
        };
        const margin = seen.size + SEARCH_SLACK;
        const embedding = await models.userTower.embed(user);
        const found = ann.search(embedding.subarray(0, dims), wanted, exclude, margin);
        const ids = found.keys.map((key) => keys.itemAt(key)!);
        if (ids.length === 0) continue;
        const rows = await itemRows.getMany(ids, now);
        const candidates = rows.map((row, i) => ({
          itemId: ids[i]!,
          features: row.features,
          dense: row.dense,
          encoded: row.encodedFor(vocab, ids[i]!),
        }));
        prepared.push({ user, exclude, margin, ranker: encodedRankerInputs(query, candidates, user) });
      }
      if (prepared.length === 0) throw new Error('model floor: no user has a view to recommend from');
      const loop = async (ms: number) => {
        let requests = 0;
        const end = performance.now() + ms;
        while (performance.now() < end) {
          const input = prepared[requests++ % prepared.length]!;
          const embedding = await models.userTower.embed(input.user);
          ann.search(embedding.subarray(0, dims), wanted, input.exclude, input.margin);
          await models.ranker.score(input.ranker);
        }
        return requests;
      };
      await loop(2000);
      const cpuBefore = process.cpuUsage();
      const requests = await loop(seconds * 1000);
      const cpu = process.cpuUsage(cpuBefore);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const auc = model.metrics.ranker_auc;
      const baseline = model.metrics.ctr_baseline_auc;
      return {
        requestsPerCpuS: requests / cpuSeconds,
        requests,
        cpuSeconds,
        users: prepared.length,
        candidates: wanted,
        annExpansion: ann.config.expansionSearch,
        annFile,
        rankerTrusted: auc !== undefined && baseline !== undefined && auc > baseline,
      };
    } finally {
      await Promise.all([online.close(), models.close()]);
    }
  } finally {
    await platform.close();
  }
}
