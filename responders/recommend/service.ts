/**
 * Everything `GET /v1/recommendations` needs, started together on a
 * platform: the catalog and profiles followed from `rec.items` and
 * `rec.users`, the running experiments from `rec.experiments` (their
 * variants' model versions loaded beside the promoted pair), the promoted
 * slots from `rec.promotions`, the model/index bundles followed from their
 * version topics, popularity lists from the online store, the
 * `Recommender` and the `ReplayScorer` (off-policy evaluation's) over one
 * set of serving stages, the served-list log and the shadow variants'
 * runner. `start` resolves once the tables caught up, the promoted pair (if
 * any) is loaded and the popularity lists are built: from then on every
 * request gets a list, personalised or an explicit fallback.
 *
 * @example
 * ```ts
 * const service = await RecommendationService.start({ platform, online, store });
 * const result = await service.recommender.recommend({ userId: 'u0', k: 10 });
 * await service.close();
 * ```
 */

import { shareCatalogStrings } from '../../features/views/shared-strings.js';
import type { ArtifactStore } from '../../registry/model-store.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Platform } from '../../runtime/platform.js';
import { createProducer, type Producer } from '../../runtime/producer/producer.js';
import type { Item, Promotion, User } from '../../schemas/generated/types.js';
import { ENRICHED_TOPIC, PROMOTIONS_TOPIC } from '../../schemas/topics.js';
import { BundleManager } from './bundle-manager.js';
import { CoVisitationSource } from './co-visitation.js';
import { PromotedSlots } from './final-ordering.js';
import { LiveTable } from './live-table.js';
import { PopularityLists } from './popularity.js';
import { Recommender } from './recommender.js';
import { ReplayScorer } from './replay-scorer.js';
import { type ServeMetrics, serveMetrics } from './serve-metrics.js';
import { ServedLog } from './served-log.js';
import { ServingExperiments } from './serving-experiments.js';
import { ServingStages } from './serving-stages.js';
import { ShadowRunner } from './shadow-runner.js';

export interface RecommendationServiceOptions {
  readonly platform: Platform;
  readonly online: OnlineStore;
  readonly store: ArtifactStore;
  /** Pause between rebuilds of the popularity lists; default `RECSTREAM_SERVE_POPULARITY_REFRESH_MS`. */
  readonly popularityRefreshMs?: number;
  /** Pause between reads of the followed topics that found nothing; default 25 ms. */
  readonly pollMs?: number;
  /**
   * Model versions (`<model>@<version>`) kept loaded beside the promoted pair
   * and those running experiments name, for replays (off-policy evaluation).
   */
  readonly models?: readonly string[];
}

export class RecommendationService {
  private constructor(
    readonly recommender: Recommender,
    /** Logged requests served again over the recommender's stages (off-policy evaluation). */
    readonly replays: ReplayScorer,
    readonly bundles: BundleManager,
    readonly catalog: LiveTable<Item>,
    readonly profiles: LiveTable<User>,
    readonly popularity: PopularityLists,
    readonly served: ServedLog,
    readonly metrics: ServeMetrics,
    readonly experiments: ServingExperiments,
    readonly promotions: PromotedSlots,
    readonly shadows: ShadowRunner,
    private readonly producer: Producer,
  ) {}

  static async start(options: RecommendationServiceOptions): Promise<RecommendationService> {
    const { platform, online, store } = options;
    const { log, serde, logger, config } = platform;
    const metrics = serveMetrics(platform.metrics);
    const itemDecoder = await serde.decoder('rec.items-value');
    const userDecoder = await serde.decoder('rec.users-value');
    const catalog = LiveTable.open<Item>({
      log,
      topic: 'rec.items',
      decode: async (bytes) => shareCatalogStrings(await itemDecoder.decode(bytes)),
      logger,
      pollMs: options.pollMs,
    });
    const profiles = LiveTable.open<User>({
      log,
      topic: 'rec.users',
      decode: (bytes) => userDecoder.decode(bytes),
      logger,
      pollMs: options.pollMs,
    });
    const promotionDecoder = await serde.decoder('rec.promotions-value');
    const promotionTable = LiveTable.open<Promotion>({
      log,
      topic: PROMOTIONS_TOPIC,
      decode: (bytes) => promotionDecoder.decode(bytes),
      logger,
      pollMs: options.pollMs,
    });
    const opened: { close(): Promise<void> }[] = [catalog, profiles, promotionTable];
    try {
      await Promise.all([catalog.ready, profiles.ready, promotionTable.ready]);
      const bundles = await BundleManager.start({
        log,
        serde,
        logger,
        metrics,
        store,
        catalog,
        model: config.modelName,
        index: config.indexName,
        searchExpansion: config.serveAnnExpansion,
        annCopy: config.serveAnnCopy,
        pollMs: options.pollMs,
      });
      opened.push(bundles);
      const kept = options.models ?? [];
      if (kept.length > 0) bundles.want(kept);
      const experiments = await ServingExperiments.start({
        log,
        serde,
        logger,
        pollMs: options.pollMs,
        onModels: (labels) => bundles.want([...labels, ...kept]),
      });
      opened.push(experiments);
      const promotions = new PromotedSlots(promotionTable);
      const popularity = await PopularityLists.start({
        online,
        catalog,
        logger,
        refreshMs: options.popularityRefreshMs ?? config.servePopularityRefreshMs,
      });
      opened.push(popularity);
      const stages = new ServingStages({
        bundles,
        online,
        profiles,
        catalog,
        popularity,
        metrics,
        experiments,
        promotions,
        ordering: {
          freshnessBoost: config.serveFreshnessBoost,
          freshnessWindowMs: config.serveFreshnessWindowMs,
          promotions: config.servePromotions === 'true',
          maxCategoryShare: config.serveMaxCategoryShare,
          explorationEpsilon: config.serveExplorationEpsilon,
          explorationFreshWeight: config.serveExplorationFreshWeight,
          explorationPolicy: config.serveExplorationPolicy,
          explorationTemperature: config.serveExplorationTemperature,
          explorationPoolSize: config.serveExplorationPoolSize,
        },
        storeTimeoutMs: config.serveStoreTimeoutMs,
        itemFeaturesTtlMs: config.serveItemFeaturesTtlMs,
        // The item-features tasks are those of the enriched topic's partitions.
        itemPartitions: (await log.describeTopic(ENRICHED_TOPIC))?.partitions ?? config.partitions,
        candidates: config.serveCandidates,
        rankerWeight: config.serveRankerWeight,
        coVisitation:
          config.serveCoVisitation === 0
            ? undefined
            : new CoVisitationSource(online, {
                count: config.serveCoVisitation,
                mode: config.serveCoVisitationMode,
                weight: config.serveCoVisitationWeight,
                halfLifeMs: config.coVisitationHalfLifeMs,
              }),
        onError: (error) => logger.error({ err: error }, 'personalised path failed; served popularity'),
      });
      // One set of stages, so that replays read through the live path's item-row cache.
      const recommender = new Recommender(stages);
      const producer = createProducer({ log, serde, createTopics: { partitions: config.partitions } });
      const served = new ServedLog({ producer, metrics, logger });
      const shadows = new ShadowRunner({ recommender, experiments, served, metrics, logger });
      return new RecommendationService(
        recommender,
        new ReplayScorer(stages),
        bundles,
        catalog,
        profiles,
        popularity,
        served,
        metrics,
        experiments,
        promotions,
        shadows,
        producer,
      );
    } catch (error) {
      for (const part of opened.reverse()) await part.close().catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.shadows.idle();
    await this.served.close();
    await this.producer.close();
    await this.popularity.close();
    await this.experiments.close();
    await this.bundles.close();
    await this.promotions.table.close();
    await this.catalog.close();
    await this.profiles.close();
  }
}
