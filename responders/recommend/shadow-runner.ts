/**
 * Shadow variants: a running experiment's variant with `shadow: true`
 * scores the same requests as the variant its users are served, off the
 * hot path, and is never shown. After a response is sent the route hands
 * the request here; each shadow variant of the user's experiment is queued
 * (at most `maxPending` scorings wait; one more is dropped and counted in
 * `recstream_serve_shadow_dropped_total`, so a loaded responder sheds its
 * shadows before its users feel them) and scored one at a time. Each
 * shadow list is published to `rec.recommendations` with `shadow: true`,
 * the same `request_id`, its experiment and variant and `took_ms`, and
 * measured against the served list: its latency, Jaccard@K of the two item
 * sets, and Kendall tau of the items both hold by their ranks in each.
 *
 * @example
 * ```ts
 * const shadows = new ShadowRunner({ recommender, experiments, served, metrics, logger });
 * shadows.submit({ userId: 'u0', k: 10, context, requestId, surface: null }, result);
 * await shadows.idle();
 * ```
 */
import type { Logger } from '../../runtime/observability/logger.js';
import type { Experiment, ExperimentVariant } from '../../schemas/generated/types.js';
import type { RankedItem } from './final-ordering.js';
import type { RecommendRequest, RecommendResult } from './recommend-request.js';
import type { Recommender } from './recommender.js';
import type { ServeMetrics } from './serve-metrics.js';
import type { ServedLog } from './served-log.js';

export interface ShadowRunnerOptions {
  readonly recommender: Pick<Recommender, 'recommend'>;
  readonly experiments: { running(id: string): Experiment | undefined };
  readonly served: Pick<ServedLog, 'publish'>;
  readonly metrics: ServeMetrics;
  readonly logger: Logger;
  /** Scorings that may wait; default 64. */
  readonly maxPending?: number;
}

/** The served request a shadow variant scores again. */
export interface ShadowRequest {
  readonly userId: string;
  readonly k: number;
  readonly context: RecommendRequest['context'];
  readonly requestId: string;
  readonly surface: string | null;
  /** The served list's caller (../auth/caller.ts), which the shadow list carries too. */
  readonly caller: string | null;
}

interface Job {
  readonly request: ShadowRequest;
  readonly served: readonly RankedItem[];
  readonly experiment: Experiment;
  readonly variant: ExperimentVariant;
}

export class ShadowRunner {
  private readonly queue: Job[] = [];
  private draining: Promise<void> | undefined;
  private readonly maxPending: number;

  constructor(private readonly options: ShadowRunnerOptions) {
    this.maxPending = options.maxPending ?? 64;
  }

  /** Queues the shadow variants of the experiment `result` was served in; none outside experiments. */
  submit(request: ShadowRequest, result: RecommendResult): void {
    if (result.experiment_id === null) return;
    const experiment = this.options.experiments.running(result.experiment_id);
    if (experiment === undefined) return;
    for (const variant of experiment.variants) {
      if (!variant.shadow) continue;
      if (this.queue.length >= this.maxPending) {
        this.options.metrics.shadowDropped.inc({ experiment: experiment.id, variant: variant.name });
        continue;
      }
      this.queue.push({ request, served: result.items, experiment, variant });
    }
    // Started on the next turn of the event loop: the response is written first.
    if (this.queue.length > 0 && this.draining === undefined)
      this.draining = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  /** Resolves once every queued scoring is done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) await this.run(job);
    } finally {
      this.draining = undefined;
    }
  }

  private async run(job: Job): Promise<void> {
    const { request, experiment, variant } = job;
    const labels = { experiment: experiment.id, variant: variant.name };
    const started = performance.now();
    let result: RecommendResult;
    try {
      result = await this.options.recommender.recommend({
        userId: request.userId,
        k: request.k,
        context: request.context,
        assignment: { experiment, variant },
        shadow: true,
        requestId: request.requestId,
      });
    } catch (error) {
      this.options.logger.warn({ err: error, ...labels }, 'a shadow variant failed to score a request');
      return;
    }
    const tookMs = performance.now() - started;
    this.options.metrics.shadowSeconds.observe(labels, tookMs / 1000);
    const overlap = listOverlap(
      job.served.map((i) => i.item_id),
      result.items.map((i) => i.item_id),
    );
    this.options.metrics.shadowJaccard.observe(labels, overlap.jaccard);
    if (overlap.kendallTau !== null) this.options.metrics.shadowKendall.observe(labels, overlap.kendallTau);
    this.options.served.publish({
      request_id: request.requestId,
      user_id: request.userId,
      caller: request.caller,
      items: result.items.map((item, position) => ({ ...item, position })),
      model_version: result.model_version,
      index_version: result.index_version,
      fallback: result.fallback,
      surface: request.surface,
      experiment_id: experiment.id,
      variant: variant.name,
      shadow: true,
      exploration: result.exploration,
      exploration_pool: result.exploration_pool === null ? null : [...result.exploration_pool],
      item_frontiers: result.item_frontiers === null ? null : [...result.item_frontiers],
      took_ms: tookMs,
      served_ts: Date.now(),
    });
  }
}

/** How much two top-K lists agree. */
export interface ListOverlap {
  /** |A ∩ B| / |A ∪ B| of the two item sets; 1 for two empty lists. */
  readonly jaccard: number;
  /** Kendall tau-a of the shared items' ranks in A against their ranks in B; null with fewer than two shared. */
  readonly kendallTau: number | null;
}

/**
 * Jaccard@K and Kendall tau on the overlap of two ranked lists.
 *
 * @example
 * ```ts
 * listOverlap(['a', 'b', 'c'], ['b', 'a', 'd']); // { jaccard: 0.5, kendallTau: -1 }
 * ```
 */
export function listOverlap(a: readonly string[], b: readonly string[]): ListOverlap {
  const rankInB = new Map(b.map((item, rank) => [item, rank]));
  const shared: number[] = [];
  for (const item of a) {
    const rank = rankInB.get(item);
    if (rank !== undefined) shared.push(rank);
  }
  const union = new Set([...a, ...b]).size;
  const jaccard = union === 0 ? 1 : shared.length / union;
  if (shared.length < 2) return { jaccard, kendallTau: null };
  // `shared` lists the shared items' ranks in B in their order in A: count the pairs in order.
  let concordant = 0;
  let discordant = 0;
  for (let i = 0; i < shared.length; i++)
    for (let j = i + 1; j < shared.length; j++) {
      if (shared[i]! < shared[j]!) concordant++;
      else discordant++;
    }
  const pairs = (shared.length * (shared.length - 1)) / 2;
  return { jaccard, kendallTau: (concordant - discordant) / pairs };
}
