/**
 * Where a replay starts (`recstream replay --from`) and the input offsets a
 * reset task resumes from. Source topics go back to the requested position,
 * except the topics the replay itself rewrites (written by a sink of a
 * topology being replayed: `rec.interactions.enriched` inside `features`,
 * `rec.training-examples` when `features` and `snapshots` are replayed
 * together): those go to their end when the reset happens, because the
 * upstream processor re-emits everything from the replay's start, and
 * reading their old records as well would feed the downstream processor
 * each input twice.
 *
 * @example
 * ```ts
 * const from = parseReplayFrom('2026-11-20T00:00:00Z');
 * const offsets = await resetOffsets(topology, log, 0, from); // Map topic → next offset for task 0
 * ```
 */
import { ConfigError } from '../../errors.js';
import type { EventLog } from '../../log/log.js';
import type { Topology } from '../../processor/topology.js';

export type ReplayFrom =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'time'; readonly ts: number }
  | { readonly kind: 'offset'; readonly offset: number };

/** Parses `earliest`, an ISO-8601 time or a non-negative offset (the same offset in every partition). */
export function parseReplayFrom(text: string): ReplayFrom {
  if (text === 'earliest') return { kind: 'earliest' };
  if (/^\d+$/.test(text)) {
    const offset = Number(text);
    if (Number.isSafeInteger(offset)) return { kind: 'offset', offset };
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ts = Date.parse(text);
    if (Number.isFinite(ts)) return { kind: 'time', ts };
  }
  throw new ConfigError(
    `--from ${JSON.stringify(text)} is not earliest, an ISO-8601 time (2026-11-20T08:00:00Z) or an offset (a whole number)`,
  );
}

export function formatReplayFrom(from: ReplayFrom): string {
  if (from.kind === 'earliest') return 'earliest';
  return from.kind === 'time' ? new Date(from.ts).toISOString() : String(from.offset);
}

/** Topics the replay of these topologies rewrites: every sink topic of any of them. */
export function rewrittenTopics(topologies: readonly Topology[]): Set<string> {
  return new Set(topologies.flatMap((t) => [...t.sinkTopics()]));
}

/** The topologies with every writer of a topic before its readers, so downstream rebuilds see upstream outputs. */
export function replayOrder(topologies: readonly Topology[]): Topology[] {
  const left = [...topologies];
  const out: Topology[] = [];
  while (left.length > 0) {
    const ready = left.findIndex((t) =>
      left.every((u) => u === t || !u.sinkTopics().some((topic) => t.sourceTopics().includes(topic))),
    );
    // A cycle between applications has no order; keep the given one for the rest.
    out.push(...left.splice(ready === -1 ? 0 : ready, ready === -1 ? left.length : 1));
  }
  return out;
}

/** The next offset per source topic for task `partition` after a reset to `from`. */
export async function resetOffsets(
  topology: Topology,
  log: EventLog,
  partition: number,
  from: ReplayFrom,
  rewritten: ReadonlySet<string> = rewrittenTopics([topology]),
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const topic of topology.sourceTopics()) {
    const bounds = (await log.offsets(topic)).find((p) => p.partition === partition);
    if (bounds === undefined) continue;
    let offset: number;
    if (rewritten.has(topic)) offset = bounds.end;
    else if (from.kind === 'earliest') offset = bounds.start;
    else if (from.kind === 'offset') offset = Math.min(Math.max(from.offset, bounds.start), bounds.end);
    else offset = await log.offsetForTimestamp(topic, partition, from.ts);
    out.set(topic, offset);
  }
  return out;
}

/** The current end of every external source partition of the given tasks: what a replay rebuilds up to. */
export async function replayTargets(
  topology: Topology,
  log: EventLog,
  partitions: readonly number[],
  rewritten: ReadonlySet<string> = rewrittenTopics([topology]),
): Promise<{ topic: string; partition: number; end: number }[]> {
  const out: { topic: string; partition: number; end: number }[] = [];
  for (const topic of topology.sourceTopics()) {
    if (rewritten.has(topic)) continue;
    for (const p of await log.offsets(topic))
      if (partitions.includes(p.partition)) out.push({ topic, partition: p.partition, end: p.end });
  }
  return out;
}

/**
 * Records a replay has to process (from the reset positions up to the
 * targets) and how far it got; records appended after the targets were
 * taken are processed too but not counted.
 */
export class ReplayProgress {
  readonly total: number;
  private readonly starts: Map<string, number>;

  constructor(
    private readonly targets: readonly { topic: string; partition: number; end: number }[],
    starts: readonly { topic: string; partition: number; offset: number }[],
  ) {
    this.starts = new Map(starts.map((p) => [`${p.topic}/${p.partition}`, p.offset]));
    this.total = targets.reduce((n, t) => n + Math.max(0, t.end - this.startOf(t)), 0);
  }

  /** Records done at these consumer positions, and whether every target is reached. */
  at(positions: readonly { topic: string; partition: number; offset: number }[]): {
    done: number;
    reached: boolean;
  } {
    const now = new Map(positions.map((p) => [`${p.topic}/${p.partition}`, p.offset]));
    let done = 0;
    let reached = true;
    for (const t of this.targets) {
      const at = Math.min(now.get(`${t.topic}/${t.partition}`) ?? t.end, t.end);
      done += Math.max(0, at - this.startOf(t));
      if (at < t.end) reached = false;
    }
    return { done, reached };
  }

  private startOf(t: { topic: string; partition: number; end: number }): number {
    return this.starts.get(`${t.topic}/${t.partition}`) ?? t.end;
  }
}
