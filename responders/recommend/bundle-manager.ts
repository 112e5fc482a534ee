/**
 * Hot reload: the responder folds `rec.model-versions` and
 * `rec.index-versions` as the trainer and indexer publish them and serves
 * the promoted model with its newest full index. A new pair is loaded in
 * the background (verified, lineage checked, warmed up) while the current
 * one serves; then one assignment swaps them, so a request sees one pair
 * from start to end, and the old pair is freed when its last request
 * releases it. A delta of the served full index is applied in place, with
 * no reload. A pair that fails to load is refused and logged; the current
 * pair keeps serving, and the refused pair is not tried again until a new
 * event names it. `models rollback` reaches every replica the same way: it
 * is two more events.
 *
 * Running experiments' variants that name a model version get their own
 * pairs beside the promoted one (./variant-pairs.ts: `want` the versions,
 * `acquireVersion` one per request), loaded, verified, reloaded and freed
 * the same way. Once loaded, the served pairs are gathered onto one
 * session thread (./one-session-thread.ts), loaded again there together
 * and swapped in at once, so that two variants share one thread's
 * wake-ups instead of waking two threads half as often each.
 *
 * Catalog changes the responder sees on `rec.items` are embedded with the
 * served models' item towers and indexed at once (`ServingBundle.syncCatalog`),
 * so a new item is retrievable before the indexer's next delta.
 *
 * @example
 * ```ts
 * const bundles = await BundleManager.start({ log, serde, logger, metrics, store, catalog, model: 'recstream', index: 'items' });
 * const bundle = bundles.acquire();               // undefined: nothing loaded yet
 * try { use(bundle); } finally { bundle?.release(); }
 * await bundles.close();
 * ```
 */

import type { DeltaManifest } from '../../indexer/indexer.js';
import { IndexRegistry } from '../../registry/index-registry.js';
import { ModelRegistry } from '../../registry/model-registry.js';
import type { ArtifactStore } from '../../registry/model-store.js';
import type { Config } from '../../runtime/config.js';
import type { EventLog, LogRecord } from '../../runtime/log/log.js';
import type { Logger } from '../../runtime/observability/logger.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { IndexVersion, Item, ModelVersion } from '../../schemas/generated/types.js';
import { INDEX_VERSIONS_TOPIC, MODEL_VERSIONS_TOPIC } from '../../schemas/topics.js';
import { readVerified } from './bundle-verification.js';
import type { LiveTable } from './live-table.js';
import { loadOnOneThread, sessionThreadsOf } from './one-session-thread.js';
import type { ServeMetrics } from './serve-metrics.js';
import { type BundleSource, ServingBundle } from './serving-bundle.js';
import { TopicFollower } from './topic-follower.js';
import { VariantPairs } from './variant-pairs.js';

/**
 * Share of the request thread a new pair's load takes for the indexing of
 * its vocabularies and its walk over the catalog (94,000 items checked
 * against its index) while another pair serves. Unpaced, that walk and the
 * key tables a pair used to build took ~100 ms of that thread in two or
 * three stretches, each holding every request that arrived behind it.
 */
const SWAP_LOAD_SHARE = 0.25;

export interface BundleManagerOptions {
  readonly log: EventLog;
  readonly serde: Serde;
  readonly logger: Logger;
  readonly metrics: ServeMetrics;
  readonly store: ArtifactStore;
  readonly catalog: LiveTable<Item>;
  /** Model name whose promoted version is served. */
  readonly model: string;
  /** Index name whose versions are served. */
  readonly index: string;
  /** HNSW search expansion of the served indexes (`RECSTREAM_SERVE_ANN_EXPANSION`); default the index's. */
  readonly searchExpansion?: number;
  /** Which copy of an index version is searched (`RECSTREAM_SERVE_ANN_COPY`); default f16. */
  readonly annCopy?: Config['serveAnnCopy'];
  readonly pollMs?: number;
}

/** What the manager serves or why it serves nothing. */
export interface BundleStatus {
  readonly model: string | null;
  readonly index: string | null;
  /** Why no pair is served, or why the newest one was refused. */
  readonly problem: string | null;
  /** Each model version running variants name: `loaded`, `promoted` (the promoted pair serves it), or why neither. */
  readonly variants?: Record<string, string>;
  /** How many session threads the served pairs run on: 1 once they are gathered, 0 with none loaded. */
  readonly sessionThreads?: number;
}

export class BundleManager {
  private readonly models = new ModelRegistry();
  private readonly indexes = new IndexRegistry();
  private current: ServingBundle | undefined;
  /** One reload or catalog sync at a time, in the order they were asked for. */
  private work: Promise<void> = Promise.resolve();
  /** `model@v/index@v` of the pair that failed last, so it is not retried until something new is published. */
  private refused: string | undefined;
  /** The served pairs (`model@v/index@v`, joined) that failed to load onto one thread, not tried again while they serve. */
  private ungathered: string | undefined;
  private problem: string | null = 'no model version promoted yet';
  private readonly followers: TopicFollower[] = [];
  private closed = false;
  private readonly pairs: VariantPairs;

  private constructor(private readonly options: BundleManagerOptions) {
    this.pairs = new VariantPairs({
      load: (model, full, delta) => this.loadPair(model, full, delta),
      applyDelta: async (bundle, delta) => {
        try {
          await bundle.applyDelta(delta, await readVerified<DeltaManifest>(options.store, delta));
        } catch (error) {
          options.metrics.reloads.inc({ result: 'refused' });
          options.logger.error(
            { err: error, delta: `${delta.index}@${delta.version}` },
            'responder refused a delta',
          );
        }
      },
      logger: options.logger,
    });
  }

  static async start(options: BundleManagerOptions): Promise<BundleManager> {
    const manager = new BundleManager(options);
    const modelDecoder = await options.serde.decoder('rec.model-versions-value');
    const indexDecoder = await options.serde.decoder('rec.index-versions-value');
    const follow = (topic: string, apply: (record: LogRecord) => Promise<void>) =>
      TopicFollower.start({
        log: options.log,
        topic,
        logger: options.logger,
        pollMs: options.pollMs,
        onRecords: async (records) => {
          for (const record of records) {
            if (record.value === null) continue;
            try {
              await apply(record);
            } catch (error) {
              // One unreadable version event must not stop reloads: it is skipped, loudly.
              options.logger.error(
                { err: error, topic, partition: record.partition, offset: record.offset },
                'skipped a version event that does not decode',
              );
            }
          }
          manager.schedule(() => manager.reconcile());
        },
      });
    manager.followers.push(
      follow(MODEL_VERSIONS_TOPIC, async (r) => manager.models.apply(await modelDecoder.decode(r.value!))),
      follow(INDEX_VERSIONS_TOPIC, async (r) => manager.indexes.apply(await indexDecoder.decode(r.value!))),
    );
    options.catalog.onChange((changed, removed) =>
      manager.schedule(async () => {
        const bundle = manager.current;
        const embedded =
          (bundle === undefined ? 0 : await bundle.syncCatalog(changed, removed)) +
          (await manager.pairs.syncCatalog(changed, removed));
        options.metrics.itemsIndexed.inc(embedded);
      }),
    );
    await Promise.all(manager.followers.map((f) => f.ready));
    manager.schedule(() => manager.reconcile());
    await manager.work;
    return manager;
  }

  /** The served pair, held for one request (`release` it after), or undefined when none is loaded. */
  acquire(): ServingBundle | undefined {
    const bundle = this.current;
    bundle?.acquire();
    return bundle;
  }

  /**
   * A pair of one model version (`<model>@<version>`), held for one request:
   * the promoted pair when it is that version, else the variant pair once
   * loaded; undefined until then.
   */
  acquireVersion(label: string): ServingBundle | undefined {
    if (this.current?.modelLabel === label) return this.acquire();
    return this.pairs.acquire(label);
  }

  /**
   * The model versions running experiments' variants name: loaded in the
   * background, and freed when a later call leaves them out.
   */
  want(labels: Iterable<string>): void {
    this.pairs.want(labels);
    this.schedule(() => this.reconcile());
  }

  status(): BundleStatus {
    return {
      model: this.current?.modelLabel ?? null,
      index: this.current?.indexLabel ?? null,
      problem: this.problem,
      variants: this.pairs.status(),
      sessionThreads: sessionThreadsOf(this.served()),
    };
  }

  /** Resolves when every reload and catalog sync asked for so far is done (for tests and the demo). */
  settled(): Promise<void> {
    return this.work;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const follower of this.followers) await follower.close();
    await this.work;
    await this.current?.retire();
    this.current = undefined;
    await this.pairs.close();
  }

  private schedule(task: () => Promise<void>): void {
    this.work = this.work.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (error) {
        this.options.logger.error({ err: error }, 'responder bundle work failed');
      }
    });
  }

  private async reconcile(): Promise<void> {
    await this.reconcilePromoted();
    await this.pairs.reconcile(this.models, this.indexes, this.options.index, this.current);
    await this.gatherOntoOneThread();
    this.options.metrics.sessionThreads.set(sessionThreadsOf(this.served()));
  }

  /** The promoted pair, then the variants' own. */
  private served(): ServingBundle[] {
    return [...(this.current === undefined ? [] : [this.current]), ...this.pairs.loadedPairs().values()];
  }

  /**
   * Loads the served pairs again onto one session thread when they run on
   * several, and swaps them all in at once; the ones replaced are freed
   * once their requests are done. A set that fails to load there keeps
   * serving as it is, and is not tried again while it serves.
   */
  private async gatherOntoOneThread(): Promise<void> {
    const current = this.current;
    const variants = [...this.pairs.loadedPairs()];
    const served = this.served();
    if (current === undefined || sessionThreadsOf(served) <= 1) return;
    const key = served.map((b) => `${b.modelLabel}/${b.indexLabel}`).join(',');
    if (key === this.ungathered) return;
    const { logger } = this.options;
    let gathered: ServingBundle[];
    try {
      gathered = await loadOnOneThread(served.map((b) => this.sourceOf(b.model, b.index, b.delta)));
    } catch (error) {
      this.ungathered = key;
      logger.error(
        { err: error, pairs: key },
        `responder could not load its pairs onto one session thread; they serve on ${sessionThreadsOf(served)}`,
      );
      return;
    }
    const [promoted, ...own] = gathered as [ServingBundle, ...ServingBundle[]];
    this.current = promoted;
    variants.forEach(([label], i) => {
      if (!this.pairs.replace(label, own[i]!)) own[i]!.retireInBackground(logger);
    });
    current.retireInBackground(logger);
    logger.info({ pairs: key }, `responder serves ${served.length} pairs on one session thread`);
  }

  private async reconcilePromoted(): Promise<void> {
    const { model: name, index: indexName } = this.options;
    const model = this.models.promoted(name);
    if (model === undefined) {
      if (this.current === undefined) this.problem = `${name} has no promoted version yet`;
      return;
    }
    const full = this.indexes.fullFor(indexName, model.model, model.version);
    if (full === undefined) {
      // Keep serving the pair we have: a model is never served without its own index.
      this.problem = `${model.model} v${model.version} is promoted but index ${indexName} has no version for it yet`;
      return;
    }
    const delta = this.indexes.latestDelta(indexName, full.version);
    const current = this.current;
    if (current?.model.version === model.version && current.index.version === full.version) {
      this.problem = null;
      if (delta !== undefined) await this.applyDelta(current, delta);
      return;
    }
    const key = `${model.model}@${model.version}/${full.index}@${delta?.version ?? full.version}`;
    if (key === this.refused) return;
    await this.load(model, full, delta, key);
  }

  private async load(
    model: ModelVersion,
    full: IndexVersion,
    delta: IndexVersion | undefined,
    key: string,
  ): Promise<void> {
    const { metrics, logger } = this.options;
    const started = performance.now();
    let bundle: ServingBundle;
    try {
      bundle = await this.loadPair(model, full, delta);
    } catch (error) {
      const result = (error as { code?: string }).code === undefined ? 'failed' : 'refused';
      metrics.reloads.inc({ result });
      this.refused = key;
      this.problem = `refused ${key}: ${(error as Error).message}`;
      logger.error(
        { err: error, pair: key },
        `responder refused ${key}; still serving ${this.current?.modelLabel ?? 'no model'}`,
      );
      return;
    }
    const previous = this.current;
    this.current = bundle;
    this.refused = undefined;
    this.problem = null;
    metrics.reloads.inc({ result: 'swapped' });
    metrics.reloadSeconds.observe((performance.now() - started) / 1000);
    metrics.modelInfo.reset();
    metrics.modelInfo.set({ model: model.model, version: String(model.version) }, 1);
    metrics.indexInfo.reset();
    metrics.indexInfo.set({ index: full.index, version: String(delta?.version ?? full.version) }, 1);
    logger.info(
      {
        model: bundle.modelLabel,
        index: bundle.indexLabel,
        scalar: bundle.ann.config.quantization,
        previous: previous?.modelLabel,
      },
      `responder serves ${bundle.modelLabel} with ${bundle.indexLabel}`,
    );
    // A variant that names the previous version keeps it serving; otherwise it is freed.
    if (previous !== undefined && !this.pairs.adopt(previous)) previous.retireInBackground(logger);
  }

  private loadPair(
    model: ModelVersion,
    full: IndexVersion,
    delta: IndexVersion | undefined,
  ): Promise<ServingBundle> {
    return ServingBundle.load(this.sourceOf(model, full, delta));
  }

  private sourceOf(model: ModelVersion, full: IndexVersion, delta: IndexVersion | undefined): BundleSource {
    // Catalog changes that arrive while it loads queue behind this load and reach the new pair.
    return {
      store: this.options.store,
      model,
      index: full,
      delta,
      catalog: this.options.catalog.values(),
      searchExpansion: this.options.searchExpansion,
      annCopy: this.options.annCopy,
      // With a pair served, the new one's item walks leave the requests most of the thread.
      share: this.current === undefined ? 1 : SWAP_LOAD_SHARE,
    };
  }

  private async applyDelta(bundle: ServingBundle, delta: IndexVersion): Promise<void> {
    const label = `${delta.index}@${delta.version}`;
    if (bundle.indexLabel === label) return;
    try {
      await bundle.applyDelta(delta, await readVerified<DeltaManifest>(this.options.store, delta));
      this.options.metrics.indexInfo.reset();
      this.options.metrics.indexInfo.set({ index: delta.index, version: String(delta.version) }, 1);
    } catch (error) {
      this.options.metrics.reloads.inc({ result: 'refused' });
      this.problem = `refused delta ${label}: ${(error as Error).message}`;
      this.options.logger.error({ err: error, delta: label }, `responder refused delta ${label}`);
    }
  }
}
