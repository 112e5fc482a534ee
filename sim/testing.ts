/**
 * Helpers for the simulator's tests: a digest of topics (byte-identity
 * checks), a uniform-random event generator that the behaviour tests must
 * tell apart from the simulator, and the statistics they use to do so.
 *
 * @example
 * ```ts
 * const digests = await topicDigests(log, ['rec.items', 'rec.interactions']);
 * const gini = giniOf(countBy(events, (e) => e.item_id));
 * ```
 */
import { createHash } from 'node:crypto';
import { Rng } from '../lib/random.js';
import type { EventLog } from '../runtime/log/log.js';
import { INTERACTION_TYPE_SYMBOLS, type Interaction } from '../schemas/generated/types.js';
import { localTime } from './rhythm.js';
import { COUNTRIES } from './vocabulary.js';

/** sha256 per topic over every record's partition, offset, key, timestamp and value bytes. */
export async function topicDigests(
  log: EventLog,
  topics: readonly string[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const topic of topics) {
    const hash = createHash('sha256');
    for (const { partition, start, end } of await log.offsets(topic)) {
      for (let offset = start; offset < end; ) {
        const records = await log.read(topic, partition, offset, 5000);
        if (records.length === 0) break;
        for (const r of records) {
          hash.update(`${r.partition}/${r.offset}/${r.key}/${r.timestamp}/`);
          hash.update(r.value ?? Buffer.alloc(0));
        }
        offset = records[records.length - 1]!.offset + 1;
      }
    }
    out[topic] = hash.digest('hex');
  }
  return out;
}

/**
 * Events with users, items, types and times drawn uniformly: what a generator
 * with no behaviour produces. Every behaviour test must fail on it.
 */
export function uniformEvents(options: {
  seed: number;
  users: number;
  items: number;
  events: number;
  start: number;
  spanMs: number;
}): Interaction[] {
  const rng = Rng.derive(options.seed, 99);
  const times = Array.from(
    { length: options.events },
    () => options.start + Math.floor(rng.next() * options.spanMs),
  ).sort((a, b) => a - b);
  return times.map((ts, n) => {
    const user = rng.int(options.users);
    return {
      event_id: `uniform-${n}`,
      user_id: `u${user}`,
      item_id: `i${rng.int(options.items)}`,
      type: INTERACTION_TYPE_SYMBOLS[rng.int(INTERACTION_TYPE_SYMBOLS.length)]!,
      value: null,
      watch_ms: null,
      ts,
      context: {
        device: 'web',
        country: COUNTRIES[user % COUNTRIES.length]!.code,
        session_id: `uniform-s${n}`,
        surface: 'home',
        request_id: null,
      },
    };
  });
}

export function countBy<T>(values: Iterable<T>, key: (v: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) {
    const k = key(v);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/** Gini coefficient of counts over `population` slots (slots never seen count as 0). */
export function giniOf(counts: Map<string, number>, population: number): number {
  const values = [...counts.values()];
  while (values.length < population) values.push(0);
  values.sort((a, b) => a - b);
  const n = values.length;
  let weighted = 0;
  let total = 0;
  values.forEach((v, i) => {
    weighted += (i + 1) * v;
    total += v;
  });
  return (2 * weighted) / (n * total) - (n + 1) / n;
}

/** Share of all counts held by the top `fraction` of `population` slots. */
export function topShare(counts: Map<string, number>, population: number, fraction: number): number {
  const values = [...counts.values()].sort((a, b) => b - a);
  const top = Math.max(1, Math.round(population * fraction));
  const total = values.reduce((s, v) => s + v, 0);
  return values.slice(0, top).reduce((s, v) => s + v, 0) / total;
}

/**
 * Burstiness (σ − μ)/(σ + μ) of the gaps between a user's consecutive
 * events, each user's gaps divided by that user's mean gap, pooled: about 0
 * for events at random times, towards 1 when events come in sessions.
 */
export function burstiness(events: readonly Interaction[]): number {
  const byUser = new Map<string, number[]>();
  for (const e of events) {
    const list = byUser.get(e.user_id);
    if (list) list.push(e.ts);
    else byUser.set(e.user_id, [e.ts]);
  }
  const gaps: number[] = [];
  for (const ts of byUser.values()) {
    if (ts.length < 5) continue;
    ts.sort((a, b) => a - b);
    const own = ts.slice(1).map((t, i) => t - ts[i]!);
    const mean = own.reduce((s, g) => s + g, 0) / own.length;
    if (mean > 0) for (const g of own) gaps.push(g / mean);
  }
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
  return (sd - mean) / (sd + mean);
}

/** Events per local hour of day (24 bins), local by the event's country. */
export function localHourHistogram(events: readonly Interaction[]): number[] {
  const offsets = new Map(COUNTRIES.map((c) => [c.code, c.utcOffset]));
  const bins = new Array<number>(24).fill(0);
  for (const e of events) {
    const { hour } = localTime(e.ts, offsets.get(e.context.country ?? '') ?? 0);
    bins[Math.floor(hour)]!++;
  }
  return bins;
}
