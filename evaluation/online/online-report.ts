/**
 * The online value of what was served, from the served-list log
 * (`rec.recommendations`) and the interactions attributed to its lists by
 * `context.request_id`: per model version and experiment variant, the
 * requests, impressions (items served), clicks, click-through per
 * impression with a Wilson 95 % interval, clicks per request and
 * click-through per position; and, on a closed-loop simulated world, the
 * true click-through of the same lists from the simulator's truth log, side
 * by side (`true_ctr`).
 *
 * A click is a clicked-through exposure, as the experiments' figures and
 * the training labels count it: an interaction of the list's user that
 * shows they took the item (`CLICK_THROUGH`: click, view, complete, like,
 * add_to_list, share, rate), once per (list, item) whatever the client
 * resent. Shadow lists (never shown) are left out.
 *
 * @example
 * ```ts
 * const report = await onlineReport(log, serde, { from: 0, to: Date.now(), truth });
 * report.rows[0].ctr; report.rows[0].true_ctr;
 * ```
 */

import { CLICK_THROUGH } from '../../features/math/interactions.js';
import { readTopic } from '../../registry/topic-reader.js';
import type { EventLog } from '../../runtime/log/log.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { Interaction, ServedRecommendations } from '../../schemas/generated/types.js';
import { INTERACTIONS_TOPIC, RECOMMENDATIONS_TOPIC } from '../../schemas/topics.js';
import type { ServedTruth } from '../../sim/closed-loop/truth-log.js';

/** One model version × experiment variant. */
export interface OnlineRow {
  readonly model_version: string | null;
  readonly experiment_id: string | null;
  readonly variant: string | null;
  readonly requests: number;
  readonly impressions: number;
  readonly clicks: number;
  readonly ctr: number;
  readonly ctr_ci: readonly [number, number];
  readonly clicks_per_request: number;
  /** Click-through of each position, 0 first. */
  readonly ctr_by_position: readonly number[];
  /** The truth log's expected clicks per impression of the same lists; null without a truth log. */
  readonly true_ctr: number | null;
  /** Lists of this row that the truth log holds. */
  readonly truth_requests: number;
}

export interface OnlineReport {
  readonly from: number;
  readonly to: number;
  readonly rows: readonly OnlineRow[];
}

export interface OnlineReportOptions {
  /** Served lists from this time (epoch ms, inclusive). */
  readonly from: number;
  /** Served lists before this time (epoch ms). */
  readonly to: number;
  /** A closed-loop truth log by request id, for `true_ctr`. */
  readonly truth?: ReadonlyMap<string, ServedTruth>;
}

const Z95 = 1.959963984540054;

/**
 * Wilson score interval of a proportion (95 %).
 *
 * @example
 * ```ts
 * wilson(5, 100); // [0.0215, 0.1118]
 * ```
 */
export function wilson(successes: number, trials: number): [number, number] {
  if (trials === 0) return [0, 1];
  const p = successes / trials;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / (1 + z2 / trials);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

interface Group {
  readonly key: Pick<OnlineRow, 'model_version' | 'experiment_id' | 'variant'>;
  requests: number;
  impressions: number;
  clicks: number;
  readonly shownAt: number[];
  readonly clickedAt: number[];
  truthRequests: number;
  truthImpressions: number;
  expectedClicks: number;
}

interface ServedList {
  readonly user: string;
  readonly group: Group;
  readonly positions: Map<string, number>;
  readonly clicked: Set<string>;
}

/** Reads both topics whole and computes the report. */
export async function onlineReport(
  log: EventLog,
  serde: Serde,
  options: OnlineReportOptions,
): Promise<OnlineReport> {
  const groups = new Map<string, Group>();
  const lists = new Map<string, ServedList>();
  for await (const record of readTopic(log, RECOMMENDATIONS_TOPIC)) {
    if (record.value === null) continue;
    const served: ServedRecommendations = await serde.deserialize('rec.recommendations-value', record.value);
    if (served.shadow || served.served_ts < options.from || served.served_ts >= options.to) continue;
    if (lists.has(served.request_id)) continue;
    const key = {
      model_version: served.model_version,
      experiment_id: served.experiment_id,
      variant: served.variant,
    };
    const id = JSON.stringify(key);
    let group = groups.get(id);
    if (group === undefined) {
      group = {
        key,
        requests: 0,
        impressions: 0,
        clicks: 0,
        shownAt: [],
        clickedAt: [],
        truthRequests: 0,
        truthImpressions: 0,
        expectedClicks: 0,
      };
      groups.set(id, group);
    }
    group.requests++;
    group.impressions += served.items.length;
    const positions = new Map<string, number>();
    for (const item of served.items) {
      positions.set(item.item_id, item.position);
      group.shownAt[item.position] = (group.shownAt[item.position] ?? 0) + 1;
      group.clickedAt[item.position] ??= 0;
    }
    const truth = options.truth?.get(served.request_id);
    if (truth !== undefined) {
      group.truthRequests++;
      group.truthImpressions += truth.items.length;
      group.expectedClicks += truth.expected_clicks;
    }
    lists.set(served.request_id, { user: served.user_id, group, positions, clicked: new Set() });
  }
  for await (const record of readTopic(log, INTERACTIONS_TOPIC)) {
    if (record.value === null) continue;
    const event: Interaction = await serde.deserialize('rec.interactions-value', record.value);
    if (!CLICK_THROUGH.has(event.type) || event.context.request_id === null) continue;
    const list = lists.get(event.context.request_id);
    if (list !== undefined && list.user !== event.user_id) continue;
    const position = list?.positions.get(event.item_id);
    if (list === undefined || position === undefined || list.clicked.has(event.item_id)) continue;
    list.clicked.add(event.item_id);
    list.group.clicks++;
    list.group.clickedAt[position] = (list.group.clickedAt[position] ?? 0) + 1;
  }
  const rows = [...groups.values()].map(
    (g): OnlineRow => ({
      ...g.key,
      requests: g.requests,
      impressions: g.impressions,
      clicks: g.clicks,
      ctr: g.impressions === 0 ? 0 : g.clicks / g.impressions,
      ctr_ci: wilson(g.clicks, g.impressions),
      clicks_per_request: g.requests === 0 ? 0 : g.clicks / g.requests,
      ctr_by_position: Array.from(g.shownAt, (shown, i) => (shown ? (g.clickedAt[i] ?? 0) / shown : 0)),
      true_ctr:
        options.truth === undefined || g.truthImpressions === 0
          ? null
          : g.expectedClicks / g.truthImpressions,
      truth_requests: g.truthRequests,
    }),
  );
  rows.sort(
    (a, b) =>
      (a.experiment_id ?? '').localeCompare(b.experiment_id ?? '') ||
      (a.variant ?? '').localeCompare(b.variant ?? '') ||
      (a.model_version ?? '').localeCompare(b.model_version ?? ''),
  );
  return { from: options.from, to: options.to, rows };
}
