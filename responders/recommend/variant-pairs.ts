/**
 * The model/index pairs of running experiments' variants that name a model
 * version (`<model>@<version>`), beside the promoted pair the bundle
 * manager serves. Each wanted version is served with the newest full index
 * built for it (and that index's newest delta), loaded in the background
 * with the same verification as the promoted pair (sha256 of every file,
 * the index's lineage to the model version), kept in step with the catalog
 * and with new deltas, and freed once no running experiment names it and
 * its last request has let go. A version that fails to load is refused
 * until a new event names it; until its pair is loaded, its users are
 * served the promoted pair.
 *
 * @example
 * ```ts
 * const pairs = new VariantPairs({ load, applyDelta, logger });
 * pairs.want(['recstream@1']);
 * await pairs.reconcile(models, indexes, 'items', promoted);
 * const bundle = pairs.acquire('recstream@1'); // undefined until loaded
 * try { use(bundle); } finally { bundle?.release(); }
 * ```
 */
import type { IndexRegistry } from '../../registry/index-registry.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import type { Logger } from '../../runtime/observability/logger.js';
import type { IndexVersion, Item, ModelVersion } from '../../schemas/generated/types.js';
import type { ServingBundle } from './serving-bundle.js';

export interface VariantPairsOptions {
  /** Loads and verifies a pair (the bundle manager's loader, paced while requests are served). */
  readonly load: (
    model: ModelVersion,
    full: IndexVersion,
    delta: IndexVersion | undefined,
  ) => Promise<ServingBundle>;
  /** Applies a delta of a loaded pair's full index in place. */
  readonly applyDelta: (bundle: ServingBundle, delta: IndexVersion) => Promise<void>;
  readonly logger: Logger;
}

const VERSION_LABEL = /^(.+)@(\d+)$/;

export class VariantPairs {
  private readonly loaded = new Map<string, ServingBundle>();
  /** Label → the pair key that failed last, not tried again until something new is published. */
  private readonly refused = new Map<string, string>();
  private readonly problems = new Map<string, string>();
  private wanted: ReadonlySet<string> = new Set();
  /** The promoted pair's model version as of the last reconcile. */
  private promoted: string | undefined;

  constructor(private readonly options: VariantPairsOptions) {}

  /** The model versions running variants name, as `<model>@<version>`. */
  want(labels: Iterable<string>): void {
    this.wanted = new Set(labels);
  }

  /** A loaded pair of `label`, held for one request, or undefined. */
  acquire(label: string): ServingBundle | undefined {
    const bundle = this.loaded.get(label);
    bundle?.acquire();
    return bundle;
  }

  /** The loaded pairs, by model version. */
  loadedPairs(): ReadonlyMap<string, ServingBundle> {
    return this.loaded;
  }

  /**
   * Serves `label` from `bundle` instead of the pair loaded for it, which is
   * freed once its requests are done; false (and nothing changed) when no
   * pair of `label` is loaded any more.
   */
  replace(label: string, bundle: ServingBundle): boolean {
    const current = this.loaded.get(label);
    if (current === undefined) return false;
    this.loaded.set(label, bundle);
    current.retireInBackground(this.options.logger);
    return true;
  }

  /** Each wanted version: `loaded` (a pair of its own), `promoted` (served by the promoted pair), or why neither. */
  status(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const label of this.wanted)
      out[label] = this.loaded.has(label)
        ? 'loaded'
        : this.promoted === label
          ? 'promoted'
          : (this.problems.get(label) ?? 'loading');
    return out;
  }

  /**
   * Takes over the promoted pair the manager swapped out, when a variant
   * still names its model version: it serves on without a reload.
   */
  adopt(bundle: ServingBundle): boolean {
    const label = bundle.modelLabel;
    if (!this.wanted.has(label) || this.loaded.has(label)) return false;
    this.loaded.set(label, bundle);
    return true;
  }

  /** Loads what is wanted and not loaded, applies new deltas, frees what is no longer wanted. */
  async reconcile(
    models: ModelRegistry,
    indexes: IndexRegistry,
    indexName: string,
    promoted: ServingBundle | undefined,
  ): Promise<void> {
    this.promoted = promoted?.modelLabel;
    for (const [label, bundle] of this.loaded)
      if (!this.wanted.has(label)) {
        this.loaded.delete(label);
        bundle.retireInBackground(this.options.logger);
      }
    for (const label of this.wanted) {
      // The promoted pair serves it (`acquireVersion` prefers it); a pair of its own would only
      // double the memory, so one loaded before the version was promoted is freed.
      if (promoted?.modelLabel === label) {
        const own = this.loaded.get(label);
        if (own !== undefined) {
          this.loaded.delete(label);
          own.retireInBackground(this.options.logger);
        }
        this.problems.delete(label);
        continue;
      }
      await this.reconcileOne(label, models, indexes, indexName);
    }
  }

  /** Keeps every loaded pair's index in step with the catalog; resolves to the items embedded. */
  async syncCatalog(changed: readonly Item[], removed: readonly string[]): Promise<number> {
    let embedded = 0;
    for (const bundle of this.loaded.values()) embedded += await bundle.syncCatalog(changed, removed);
    return embedded;
  }

  async close(): Promise<void> {
    const bundles = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(bundles.map((bundle) => bundle.retire()));
  }

  private async reconcileOne(
    label: string,
    models: ModelRegistry,
    indexes: IndexRegistry,
    indexName: string,
  ): Promise<void> {
    const match = VERSION_LABEL.exec(label);
    const model = match === null ? undefined : models.get(match[1]!, Number(match[2]));
    if (model === undefined) {
      this.problems.set(label, `${label} is not in rec.model-versions`);
      return;
    }
    const full = indexes.fullFor(indexName, model.model, model.version);
    if (full === undefined) {
      this.problems.set(label, `index ${indexName} has no full version built for ${label} yet`);
      return;
    }
    const delta = indexes.latestDelta(indexName, full.version);
    const current = this.loaded.get(label);
    if (current?.index.version === full.version) {
      if (delta !== undefined && current.indexLabel !== `${delta.index}@${delta.version}`)
        await this.options.applyDelta(current, delta);
      return;
    }
    const key = `${label}/${full.index}@${delta?.version ?? full.version}`;
    if (this.refused.get(label) === key) return;
    let bundle: ServingBundle;
    try {
      bundle = await this.options.load(model, full, delta);
    } catch (error) {
      this.refused.set(label, key);
      this.problems.set(label, `refused ${key}: ${(error as Error).message}`);
      this.options.logger.error({ err: error, pair: key }, `responder refused variant pair ${key}`);
      return;
    }
    this.refused.delete(label);
    this.problems.delete(label);
    if (!this.wanted.has(label)) {
      // The experiment stopped while the pair loaded.
      bundle.retireInBackground(this.options.logger);
      return;
    }
    this.loaded.set(label, bundle);
    if (current !== undefined) current.retireInBackground(this.options.logger);
    this.options.logger.info(
      { model: label, index: bundle.indexLabel },
      `responder loaded variant pair ${key}`,
    );
  }
}
