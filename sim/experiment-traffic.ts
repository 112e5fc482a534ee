/**
 * Experiment traffic for tests and benchmarks, seeded: served lists (v2,
 * with experiment_id and variant) of an experiment's variants whose items
 * are clicked at each variant's true rate, and the interactions that carry
 * their request ids, as responders and clients would write them. Users
 * u0…u199 alternate between the variants.
 *
 * @example
 * ```ts
 * const { lists, events } = experimentTraffic({ seed: 1, experimentId: 'ab', requests: 2000, rates: { control: 0.04, candidate: 0.07 }, start: t0, spacingMs: 500 });
 * ```
 */

import { Rng } from '../lib/random.js';
import type { Interaction, ServedRecommendations } from '../schemas/generated/types.js';

const MIN = 60_000;
export interface ExperimentWorld {
  readonly lists: ServedRecommendations[];
  readonly events: Interaction[];
}

export interface WorldOptions {
  readonly seed: number;
  readonly experimentId: string;
  readonly requests: number;
  /** True click probability of each item, per variant; users alternate between the variants. */
  readonly rates: Readonly<Record<string, number>>;
  readonly start: number;
  /** Event time between two requests. */
  readonly spacingMs: number;
  /** Responder latency per variant, ms (default 20). */
  readonly tookMs?: Readonly<Record<string, number>>;
  /** Share of each variant's lists its model failed to make, served as popularity with fallback `model_error` (default none). */
  readonly errorRates?: Readonly<Record<string, number>>;
}

const CONTEXT = { device: 'web', country: 'PT', session_id: null, surface: 'home' };
/** The simulated client application, an authenticated caller: its lists count whatever RECSTREAM_ATTRIBUTE_ANONYMOUS says. */
const CALLER = 'key:experiment-traffic';

/**
 * Lists of 10 items for users u0…u199, each item clicked at its variant's
 * rate within a minute, some watched, some impressions sent; then one list
 * and one interaction outside the experiment per user, ten minutes later.
 */
export function experimentTraffic(options: WorldOptions): ExperimentWorld {
  const rng = Rng.derive(options.seed, 31);
  // Its own stream, so that worlds without errors draw what they drew before errors could be asked for.
  const failures = Rng.derive(options.seed, 37);
  const variants = Object.keys(options.rates);
  const lists: ServedRecommendations[] = [];
  const events: Interaction[] = [];
  for (let r = 0; r < options.requests; r++) {
    const u = Math.floor(rng.next() * 200);
    const user = `u${u}`;
    const variant = variants[u % variants.length]!;
    const requestId = `${options.experimentId}-r${r}`;
    const served = options.start + r * options.spacingMs;
    const items = Array.from({ length: 10 }, (_, k) => `i${(r * 7 + k * 13) % 500}`);
    const failed = failures.next() < (options.errorRates?.[variant] ?? 0);
    lists.push({
      request_id: requestId,
      user_id: user,
      caller: CALLER,
      items: items.map((item_id, position) => ({
        item_id,
        position,
        score: 1 - position / 10,
        propensity: 1,
        reason: 'retrieved' as const,
      })),
      model_version: failed ? null : 'two-tower@3',
      index_version: failed ? null : 'items@5',
      fallback: rng.next() < 0.02 ? 'cold_start' : failed ? 'model_error' : null,
      surface: 'home',
      experiment_id: options.experimentId,
      variant,
      shadow: false,
      exploration: null,
      exploration_pool: null,
      item_frontiers: null,
      took_ms: (options.tookMs?.[variant] ?? 20) * (0.8 + 0.4 * rng.next()),
      served_ts: served,
    });
    const context = { ...CONTEXT, request_id: requestId };
    const event = (id: string, item: string, type: Interaction['type'], ts: number, watchMs: number | null) =>
      events.push({
        event_id: `${requestId}-${id}`,
        user_id: user,
        item_id: item,
        type,
        value: null,
        watch_ms: watchMs,
        ts,
        context,
      });
    // The client's impressions of the first items: counted once, as the served list's.
    for (let k = 0; k < 3; k++) event(`imp${k}`, items[k]!, 'impression', served + 100, null);
    items.forEach((item, k) => {
      if (rng.next() >= options.rates[variant]!) return;
      event(`click${k}`, item, 'click', served + 2000 + k, null);
      if (rng.next() < 0.5) {
        const watch = Math.round(10_000 + 50_000 * rng.next());
        event(`view${k}`, item, 'view', served + 2000 + k + watch, watch);
        event(`done${k}`, item, 'complete', served + 2001 + k + watch, watch);
      }
    });
  }
  // Every user's list and interaction outside the experiment well after the last one: the
  // watermark of every task passes the last list's window, so every list is counted.
  const end = options.start + options.requests * options.spacingMs + 10 * MIN;
  for (let u = 0; u < 200; u++) {
    lists.push({
      ...lists[0]!,
      request_id: `flush-${u}`,
      user_id: `u${u}`,
      experiment_id: null,
      variant: null,
      served_ts: end,
    });
    events.push({
      event_id: `flush-${u}`,
      user_id: `u${u}`,
      item_id: 'i1',
      type: 'view',
      value: null,
      watch_ms: null,
      ts: end,
      context: { ...CONTEXT, request_id: null },
    });
  }
  return { lists, events };
}
