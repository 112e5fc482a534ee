/**
 * Settings of the `co-visitation` application: which earlier items of a
 * user a new positive interaction pairs with (at most
 * `coVisitationRecentItems`, within `coVisitationWindowMs` of event time),
 * how fast the pair weights decay (`coVisitationHalfLifeMs`, event time) and
 * how many neighbours each item keeps (`coVisitationNeighbours`; the weakest
 * is evicted past it). The responder's side is `serveCoVisitation`
 * (`serving.ts`).
 *
 * @example
 * ```ts
 * CO_VISITATION_SETTINGS.coVisitationHalfLifeMs.env; // 'RECSTREAM_CO_VISITATION_HALF_LIFE_MS'
 * ```
 */
import type { Setting } from './setting.js';

const HOUR_MS = 3600 * 1000;

/** Window, half-life and sizes of the item-to-item co-visitation counts. */
export const CO_VISITATION_SETTINGS = {
  coVisitationWindowMs: {
    env: 'RECSTREAM_CO_VISITATION_WINDOW_MS',
    kind: 'int',
    min: 1,
    max: 30 * 24 * HOUR_MS,
    default: HOUR_MS,
    doc: "co-visitation: a positive interaction pairs with the same user's earlier positive interactions at most this much event time before it (a session)",
  },
  coVisitationRecentItems: {
    env: 'RECSTREAM_CO_VISITATION_RECENT_ITEMS',
    kind: 'int',
    min: 1,
    max: 200,
    default: 20,
    doc: "co-visitation: how many of the user's latest items within the window a new item pairs with; the pair with the k-th latest adds weight 1/k",
  },
  coVisitationHalfLifeMs: {
    env: 'RECSTREAM_CO_VISITATION_HALF_LIFE_MS',
    kind: 'int',
    min: 60 * 1000,
    max: 365 * 24 * HOUR_MS,
    default: 7 * 24 * HOUR_MS,
    doc: 'co-visitation: half-life (event time) of the pair weights, so recent co-visitation trends outweigh old ones',
  },
  coVisitationNeighbours: {
    env: 'RECSTREAM_CO_VISITATION_NEIGHBOURS',
    kind: 'int',
    min: 1,
    max: 1000,
    default: 100,
    doc: 'co-visitation: neighbours kept per item, strongest first; a new one past it evicts the weakest',
  },
} as const satisfies Record<string, Setting>;
