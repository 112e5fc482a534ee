/**
 * The second candidate source of the serving path: the co-visitation
 * neighbours (online view `co_visitation`) of the user's recent consumed
 * items, merged with the ANN candidates.
 *
 * - **Read**: one `getMany` for every consumed item of the user's recent
 *   items (at most 20), started as soon as the user's view is read, so it
 *   runs beside the user tower and the ANN search instead of after them.
 * - **Score**: a neighbour `j` of history items `h` scores
 *   `Σ_h w(h, j) · 2^(-(now - ref_ts(h)) / half-life) / rank(h)`, `rank(h)`
 *   being 1 for the latest history item, 2 for the one before, …: the
 *   pair weight as of the request, the latest history counting most.
 * - **Filter**: the ANN candidates' filters (seen, excluded, unavailable,
 *   `mature` for a minor); the best `count` are kept.
 * - **Merge**: reciprocal-rank fusion, `1/(60 + rank)` from the model's
 *   order of the ANN candidates (retrieval and ranker) plus `weight/(60 +
 *   rank)` from the co-visitation order, so an item both sources like
 *   rises; the two scores never need one scale. `alone` serves the
 *   co-visitation order by itself (to measure it).
 *
 * A consumed recent item is one whose interaction is a positive
 * (`recentItemConsumed`, the rule the co-visitation processor pairs by; a
 * low rating cannot be told from the recent items, and counts).
 *
 * @example
 * ```ts
 * const source = new CoVisitationSource(online, { count: 50, mode: 'merge', halfLifeMs: WEEK_MS });
 * const lists = source.read(features.recent_items);                 // before the user tower
 * const merged = source.merge(ann, source.neighbours(await lists, now, rejected));
 * ```
 */
import { recentItemConsumed } from '../../features/math/interactions.js';
import type { CoVisitation } from '../../features/views/co-visitation.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { RecentItem } from '../../schemas/generated/types.js';

/** The online view the co-visitation neighbours are read from. */
export const CO_VISITATION_VIEW = 'co_visitation';

/** RRF's constant: ranks past the first few differ little, as in Cormack et al. (2009). */
const FUSION_K = 60;

export interface CoVisitationServing {
  /** Co-visitation candidates per request (RECSTREAM_SERVE_CO_VISITATION); 0: off. */
  readonly count: number;
  /** `merge` with the ANN candidates, or `alone` (RECSTREAM_SERVE_CO_VISITATION_MODE). */
  readonly mode: 'merge' | 'alone';
  /** Weight of the co-visitation rank next to the ANN rank's 1 (RECSTREAM_SERVE_CO_VISITATION_WEIGHT). */
  readonly weight: number;
  /** The processor's half-life (RECSTREAM_CO_VISITATION_HALF_LIFE_MS), to put lists on one scale. */
  readonly halfLifeMs: number;
}

/** Candidates in serving order with their scores, as `diversify` takes them. */
export interface CandidateList {
  readonly ids: string[];
  readonly scores: number[];
  readonly order: number[];
}

export class CoVisitationSource {
  constructor(
    private readonly online: OnlineStore,
    readonly settings: CoVisitationServing,
  ) {}

  /** The neighbour lists of the consumed recent items, in `recent`'s order (undefined where none). */
  read(recent: readonly RecentItem[]): Promise<(CoVisitation | undefined)[]> {
    const keys: string[] = [];
    for (const r of recent) if (recentItemConsumed(r)) keys.push(r.item_id);
    return keys.length === 0
      ? Promise.resolve([])
      : this.online.getMany<CoVisitation>(CO_VISITATION_VIEW, keys);
  }

  /** `scoreNeighbours` with this source's settings. */
  neighbours(
    lists: readonly (CoVisitation | undefined)[],
    now: number,
    rejected: (itemId: string) => boolean,
  ): { ids: string[]; scores: number[] } {
    return scoreNeighbours(lists, now, rejected, this.settings);
  }

  /** `fuseByRank` with this source's mode. */
  merge(ann: CandidateList, covisited: { ids: string[]; scores: number[] }): CandidateList {
    return fuseByRank(ann, covisited, this.settings);
  }
}

/**
 * The best `settings.count` neighbours of `lists` (what `read(recent)`
 * gave) that `rejected` lets through, highest score first.
 */
export function scoreNeighbours(
  lists: readonly (CoVisitation | undefined)[],
  now: number,
  rejected: (itemId: string) => boolean,
  settings: Pick<CoVisitationServing, 'count' | 'halfLifeMs'>,
): { ids: string[]; scores: number[] } {
  const score = new Map<string, number>();
  for (let h = 0; h < lists.length; h++) {
    const list = lists[h];
    if (list === undefined) continue;
    const scale = 2 ** (-Math.max(0, now - list.ref_ts) / settings.halfLifeMs) / (h + 1);
    for (let i = 0; i < list.items.length; i++) {
      const id = list.items[i]!;
      score.set(id, (score.get(id) ?? 0) + list.weights[i]! * scale);
    }
  }
  const ranked = [...score].filter(([id]) => !rejected(id));
  ranked.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const top = ranked.slice(0, settings.count);
  return { ids: top.map(([id]) => id), scores: top.map(([, s]) => s) };
}

/**
 * The ANN candidates (`ann.order` best first) and the co-visitation ones
 * fused by rank, the latter's term times `weight` (`alone`: the latter only).
 */
export function fuseByRank(
  ann: CandidateList,
  covisited: { ids: string[]; scores: number[] },
  { mode, weight }: Pick<CoVisitationServing, 'mode' | 'weight'>,
): CandidateList {
  const fused = new Map<string, number>();
  if (mode === 'merge')
    for (let rank = 0; rank < ann.order.length; rank++)
      fused.set(ann.ids[ann.order[rank]!]!, 1 / (FUSION_K + rank + 1));
  for (let rank = 0; rank < covisited.ids.length; rank++) {
    const id = covisited.ids[rank]!;
    fused.set(id, (fused.get(id) ?? 0) + weight / (FUSION_K + rank + 1));
  }
  const ids = [...fused.keys()];
  const scores = ids.map((id) => fused.get(id)!);
  const order = ids.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return { ids, scores, order };
}
