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
 * the training labels count it (./served-lists.ts: an interaction of the
 * list's user that shows they took the item, once per (list, item)).
 * Shadow lists (never shown) are left out.
 *
 * @example
 * ```ts
 * const report = await onlineReport(log, serde, { from: 0, to: Date.now(), truth });
 * report.rows[0].ctr; report.rows[0].true_ctr;
 * ```
 */

import { wilsonInterval } from '../../lib/sequential-test.js';
import type { EventLog } from '../../runtime/log/log.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { ServedTruth } from '../../sim/closed-loop/truth-log.js';
import { readServedLists, type ServedWindow } from './served-lists.js';

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

export interface OnlineReportOptions extends ServedWindow {
  /** A closed-loop truth log by request id, for `true_ctr`. */
  readonly truth?: ReadonlyMap<string, ServedTruth>;
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

/** Reads both topics whole and computes the report. */
export async function onlineReport(
  log: EventLog,
  serde: Serde,
  options: OnlineReportOptions,
): Promise<OnlineReport> {
  const groups = new Map<string, Group>();
  const lists = await readServedLists(log, serde, options);
  for (const { served, clicked } of lists.values()) {
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
    for (const item of served.items) {
      group.shownAt[item.position] = (group.shownAt[item.position] ?? 0) + 1;
      group.clickedAt[item.position] ??= 0;
      if (!clicked.has(item.item_id)) continue;
      group.clicks++;
      group.clickedAt[item.position]!++;
    }
    const truth = options.truth?.get(served.request_id);
    if (truth !== undefined) {
      group.truthRequests++;
      group.truthImpressions += truth.items.length;
      group.expectedClicks += truth.expected_clicks;
    }
  }
  const rows = [...groups.values()].map(
    (g): OnlineRow => ({
      ...g.key,
      requests: g.requests,
      impressions: g.impressions,
      clicks: g.clicks,
      ctr: g.impressions === 0 ? 0 : g.clicks / g.impressions,
      ctr_ci: wilsonInterval({ successes: g.clicks, trials: g.impressions }),
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
