/**
 * Items' features as they were at a past time, from `rec.training-examples`:
 * every example carries its item's features just before its event, so the
 * first example of an item at or after time t holds the item's aggregates
 * as of t (no event of the item came between), its decayed counts read at
 * the example's time; they are read at the time asked here. An item with
 * no example from t on had no event since, and the online store's view of
 * it is the state at t.
 *
 * The ranker of a replayed request (off-policy evaluation) reads its
 * candidates' features from here: today's view of an item holds the
 * impressions and clicks that came after the request, its decayed
 * popularity above all, and a trusted ranker reorders a page by them.
 *
 * @example
 * ```ts
 * const items = await ItemHistory.read(log, serde, windowStart);
 * items.at('i7', list.served_ts); // undefined: read the online store
 * ```
 */
import { HALF_LIVES_MS } from '../../features/math/decay.js';
import { readTopic } from '../../registry/topic-reader.js';
import type { EventLog } from '../../runtime/log/log.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { ItemFeatures, TrainingExample } from '../../schemas/generated/types.js';
import { TRAINING_EXAMPLES_TOPIC } from '../../schemas/topics.js';

interface Snapshot {
  readonly ts: number;
  readonly features: ItemFeatures;
}

export class ItemHistory {
  private constructor(private readonly byItem: Map<string, Snapshot[]>) {}

  /** The items' example features from `from` (epoch ms) on. */
  static async read(log: EventLog, serde: Serde, from: number): Promise<ItemHistory> {
    const byItem = new Map<string, Snapshot[]>();
    const decoder = await serde.decoder('rec.training-examples-value');
    for await (const record of readTopic(log, TRAINING_EXAMPLES_TOPIC)) {
      if (record.value === null) continue;
      const example: TrainingExample = await decoder.decode(record.value);
      if (example.ts < from) continue;
      const list = byItem.get(example.item_id) ?? [];
      if (list.length === 0) byItem.set(example.item_id, list);
      list.push({ ts: example.ts, features: example.item });
    }
    for (const list of byItem.values()) list.sort((a, b) => a.ts - b.ts);
    return new ItemHistory(byItem);
  }

  /**
   * The item's aggregates as of `t`, their decayed counts read at `readAt`;
   * undefined when no example of it is at or after `t`.
   */
  at(itemId: string, t: number, readAt = t): ItemFeatures | undefined {
    const list = this.byItem.get(itemId);
    if (list === undefined) return undefined;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.ts < t) lo = mid + 1;
      else hi = mid;
    }
    const next = list[lo];
    return next === undefined ? undefined : readFeaturesAt(next.features, next.ts, readAt);
  }
}

/**
 * Features read at `from` as they read at `to`, with no event of the item
 * between: the decayed counts are worth more the less time has passed
 * since the item's last event.
 */
function readFeaturesAt(features: ItemFeatures, from: number, to: number): ItemFeatures {
  const ref = features.last_interaction_ts ?? Math.min(from, to);
  const exponent = Math.max(ref, from) - Math.max(ref, to);
  if (exponent === 0) return features;
  const [h1, d1, d7] = HALF_LIVES_MS.map((h) => 2 ** (exponent / h)) as [number, number, number];
  const { popularity } = features;
  const hl_1h = popularity.hl_1h * h1;
  const hl_1d = popularity.hl_1d * d1;
  const byCountry: Record<string, number> = {};
  for (const [country, value] of Object.entries(features.popularity_by_country))
    byCountry[country] = value * d1;
  return {
    ...features,
    popularity: { total: popularity.total, hl_1h, hl_1d, hl_7d: popularity.hl_7d * d7 },
    popularity_by_country: byCountry,
    trending_score: Math.log((1 + 24 * hl_1h) / (1 + hl_1d)),
  };
}
