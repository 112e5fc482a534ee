/**
 * Settings of serving recommendations: list sizes, retrieval and ranking,
 * the stores' timeouts and refreshes, and the ANN index served.
 *
 * @example
 * ```ts
 * SERVING_SETTINGS.serveMaxK.default; // the largest k a request may ask for
 * ```
 */
import type { Setting } from './setting.js';

/** How a recommendation request is answered: sizes, ANN search, ranking and diversity, store reads. */
export const SERVING_SETTINGS = {
  serveMaxK: {
    env: 'RECSTREAM_SERVE_MAX_K',
    kind: 'int',
    min: 1,
    max: 1000,
    default: 100,
    doc: 'largest k GET /v1/recommendations accepts; a larger one gets 400',
  },
  serveCandidates: {
    env: 'RECSTREAM_SERVE_CANDIDATES',
    kind: 'int',
    min: 10,
    max: 5000,
    default: 100,
    doc: 'items retrieved from the ANN index per request (past the filters) for the ranker and the top k',
  },
  serveCoVisitation: {
    env: 'RECSTREAM_SERVE_CO_VISITATION',
    kind: 'int',
    min: 0,
    max: 1000,
    default: 0,
    doc: "co-visitation candidates per request: the strongest neighbours (online view co_visitation) of the user's recent consumed items, past the filters, fused by rank with the ANN candidates; 0 is off",
  },
  serveCoVisitationMode: {
    env: 'RECSTREAM_SERVE_CO_VISITATION_MODE',
    kind: 'enum',
    values: ['merge', 'alone'],
    default: 'merge',
    doc: 'merge: co-visitation candidates fused with the ANN ones; alone: served by themselves (to measure them)',
  },
  serveCoVisitationWeight: {
    env: 'RECSTREAM_SERVE_CO_VISITATION_WEIGHT',
    kind: 'float',
    min: 0.01,
    max: 10,
    default: 0.1,
    doc: "weight of a co-visitation candidate's reciprocal rank, weight/(60 + rank), next to the ANN candidate's 1/(60 + rank) in the fused order",
  },
  serveAnnExpansion: {
    env: 'RECSTREAM_SERVE_ANN_EXPANSION',
    kind: 'int',
    min: 16,
    max: 4096,
    // The smallest measured expansion at which the served index finds ≥ 0.95 of the exact top 100 (docs/decisions.md §28).
    default: 192,
    doc: "HNSW search expansion (usearch's expansion_search) of the served index: candidates kept while searching, at least the count asked; higher finds more of the exact top, slower",
  },
  serveAnnCopy: {
    env: 'RECSTREAM_SERVE_ANN_COPY',
    kind: 'enum',
    values: ['f16', 'f32'],
    default: 'f16',
    doc: "which copy of an index version responders search: f16 (its f16 copy where the indexer wrote one, else its f32 index) or f32; an i8 copy is never served, since usearch normalises vectors to convert them and it ranks by cosine, not the model's inner product",
  },
  serveItemFeaturesTtlMs: {
    env: 'RECSTREAM_SERVE_ITEM_FEATURES_TTL_MS',
    kind: 'int',
    min: 0,
    max: 600_000,
    default: 1000,
    doc: "how long a candidate's ranker item features, read from the online store, are reused (request time); 0 reads every candidate every time",
  },
  servePopularityRefreshMs: {
    env: 'RECSTREAM_SERVE_POPULARITY_REFRESH_MS',
    kind: 'int',
    min: 100,
    max: 3_600_000,
    default: 60_000,
    doc: 'pause between rebuilds of the popularity lists (cold-start, opted-out and fallback answers) from every item view; each rebuild is paced to a fifth of the request thread',
  },
  serveStoreTimeoutMs: {
    env: 'RECSTREAM_SERVE_STORE_TIMEOUT_MS',
    kind: 'int',
    min: 1,
    max: 10_000,
    default: 50,
    doc: 'longest wait for an online-store read before a request falls back to popularity',
  },
  serveRankerWeight: {
    env: 'RECSTREAM_SERVE_RANKER_WEIGHT',
    kind: 'float',
    min: 0,
    max: 100,
    default: 1,
    doc: "weight of the ranker's log click probability added to the retrieval score (0: retrieval order)",
  },
  serveMaxCategoryShare: {
    env: 'RECSTREAM_SERVE_MAX_CATEGORY_SHARE',
    kind: 'float',
    min: 0.01,
    max: 1,
    default: 0.5,
    doc: 'share of a page whose items may share their first category; further ones move down the list',
  },
  serveFreshnessBoost: {
    env: 'RECSTREAM_SERVE_FRESHNESS_BOOST',
    kind: 'float',
    min: 0,
    max: 1000,
    default: 0,
    doc: "final ordering: added to the score of an item released within RECSTREAM_SERVE_FRESHNESS_WINDOW_MS of the request (0: off); an experiment variant's ordering overrides it",
  },
  serveFreshnessWindowMs: {
    env: 'RECSTREAM_SERVE_FRESHNESS_WINDOW_MS',
    kind: 'int',
    min: 1,
    max: 31_536_000_000,
    default: 604_800_000,
    doc: 'final ordering: how recent a release must be for the freshness boost, in milliseconds (default 7 days)',
  },
  servePromotions: {
    env: 'RECSTREAM_SERVE_PROMOTIONS',
    kind: 'enum',
    values: ['true', 'false'],
    default: 'true',
    doc: "final ordering: place the active promoted slots of rec.promotions in served lists (the filters still apply); an experiment variant's ordering overrides it",
  },
  serveExplorationEpsilon: {
    env: 'RECSTREAM_SERVE_EXPLORATION_EPSILON',
    kind: 'float',
    min: 0,
    // Below 1: at 1 the ranked page would never be shown, only draws.
    max: 0.99,
    default: 0,
    doc: "final ordering: the chance that each slot of a page that is not promoted is filled by an item drawn from the candidates below the page, every served item logging the probability it was placed at its position as its propensity (0: off); an experiment variant's ordering overrides it",
  },
  serveExplorationFreshWeight: {
    env: 'RECSTREAM_SERVE_EXPLORATION_FRESH_WEIGHT',
    kind: 'float',
    min: 1,
    max: 1000,
    default: 2,
    doc: "final ordering: how many times likelier exploration draws an item released within RECSTREAM_SERVE_FRESHNESS_WINDOW_MS than another candidate; an experiment variant's ordering overrides it",
  },
  serveExplorationPolicy: {
    env: 'RECSTREAM_SERVE_EXPLORATION_POLICY',
    kind: 'enum',
    values: ['epsilon_greedy', 'plackett_luce'],
    default: 'epsilon_greedy',
    doc: "final ordering: how a page is explored. epsilon_greedy: each slot that is not promoted is replaced with probability RECSTREAM_SERVE_EXPLORATION_EPSILON; plackett_luce: the slots that are not promoted are drawn without replacement from the top RECSTREAM_SERVE_EXPLORATION_POOL_SIZE candidates by softmax(score / RECSTREAM_SERVE_EXPLORATION_TEMPERATURE), each item logging the probability of its slot given the items above it, so a candidate model that reorders the page is supported by the log; an experiment variant's ordering overrides it",
  },
  serveExplorationTemperature: {
    env: 'RECSTREAM_SERVE_EXPLORATION_TEMPERATURE',
    kind: 'float',
    min: 0,
    max: 1000,
    default: 0,
    doc: "final ordering, plackett_luce: the softmax temperature over the ranked scores (retrieval score plus the ranker's weighted log click probability); 0 serves the ranked page (off); an experiment variant's ordering overrides it",
  },
  serveExplorationPoolSize: {
    env: 'RECSTREAM_SERVE_EXPLORATION_POOL_SIZE',
    kind: 'int',
    min: 1,
    max: 1000,
    default: 20,
    doc: "final ordering, plackett_luce: how many of the ranked candidates the page's slots are drawn from; an experiment variant's ordering overrides it",
  },
} as const satisfies Record<string, Setting>;

/** The ANN index's name and the quantized copy the indexer writes. */
export const INDEX_SETTINGS = {
  indexName: {
    env: 'RECSTREAM_INDEX_NAME',
    kind: 'string',
    default: 'items',
    doc: 'name of the ANN index the indexer builds and responders serve (the key of its rec.index-versions events)',
  },
  indexQuantization: {
    env: 'RECSTREAM_INDEX_QUANTIZATION',
    kind: 'enum',
    values: ['f16', 'i8', 'none'],
    default: 'f16',
    doc: 'quantised copy the indexer writes beside each full f32 index, with its recall@10 against exact search in the manifest (`recstream index --quantization` overrides); responders search an f16 copy (RECSTREAM_SERVE_ANN_COPY)',
  },
} as const satisfies Record<string, Setting>;
