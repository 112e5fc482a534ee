/**
 * How far the demo's history has gone through the processors, in events:
 * what its progress line counts. Producing the history is quick; pushing it
 * through every application is the wait, so the line counts what the
 * slowest application has committed, not what the simulator appended.
 *
 * Each application's share is the least, over its source topics, of what
 * it committed against what the topic holds; of `rec.interactions` only
 * the history counts (the live events that follow it are the status
 * line's). An application downstream of another (snapshots after
 * features) holds a share of what its upstream wrote so far, so the least
 * share reaches 1 only when every application has caught up.
 *
 * @example
 * ```ts
 * const done = historyProcessed(
 *   [{ sources: [{ topic: 'rec.interactions', committed: 150_000, end: 310_000 }] }],
 *   'rec.interactions',
 *   300_000,
 * ); // 150_000
 * ```
 */
import type { StreamRunner } from '../runtime/engine/runner.js';
import type { EventLog, TopicPartitionOffset } from '../runtime/log/log.js';
import type { Topology } from '../runtime/processor/topology.js';
import { INTERACTIONS_TOPIC } from '../schemas/topics.js';

/** One source topic of an application: its committed offsets and the topic's ends, each summed over partitions. */
export interface SourceTally {
  readonly topic: string;
  readonly committed: number;
  readonly end: number;
}

/** What one application has committed of each of its source topics. */
export interface ApplicationTally {
  readonly sources: readonly SourceTally[];
}

/** History events every application has processed: the slowest application's share of `historyEvents`. */
export function historyProcessed(
  applications: readonly ApplicationTally[],
  historyTopic: string,
  historyEvents: number,
): number {
  let share = 1;
  for (const { sources } of applications)
    for (const { topic, committed, end } of sources) {
      const total = topic === historyTopic ? historyEvents : end;
      if (total > 0) share = Math.min(share, committed / total);
    }
  return Math.floor(Math.max(0, share) * historyEvents);
}

/** An application's tally from its runner's committed positions and the log's ends of `topics`. */
export async function tallyOf(
  log: EventLog,
  topics: readonly string[],
  committed: readonly TopicPartitionOffset[],
): Promise<ApplicationTally> {
  const sources: SourceTally[] = [];
  for (const topic of topics) {
    const end = (await log.offsets(topic)).reduce((n, p) => n + p.end, 0);
    const done = committed.filter((c) => c.topic === topic).reduce((n, c) => n + c.offset, 0);
    sources.push({ topic, committed: done, end });
  }
  return { sources };
}

/** The demo's count: the history of `rec.interactions` every runner (one per topology) has committed. */
export async function processedOfHistory(
  log: EventLog,
  runners: readonly StreamRunner[],
  topologies: readonly Topology[],
  historyEvents: number,
): Promise<number> {
  const tallies = await Promise.all(
    runners.map((r, k) => tallyOf(log, topologies[k]!.sourceTopics(), r.committedPositions())),
  );
  return historyProcessed(tallies, INTERACTIONS_TOPIC, historyEvents);
}
