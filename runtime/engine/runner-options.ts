/**
 * What a StreamRunner is given, what it reports, and the pacing defaults
 * its loop applies. Kept apart from the runner so the roles that only build
 * or pass options on (the composition root, the blue/green and replay
 * drivers) read one small declaration.
 */
import type { Logger } from 'pino';
import type { EventLog } from '../log/log.js';
import type { RuntimeMetrics } from '../observability/metrics.js';
import type { DeadLetterSerializer } from '../processor/dead-letter.js';
import type { Topology } from '../processor/topology.js';
import type { TopicCatalogue } from '../topics/topic-catalogue.js';

export interface RunnerOptions {
  readonly topology: Topology;
  readonly log: EventLog;
  /** Directory for this application's task state (`<dataDir>/state/<applicationId>`). */
  readonly stateDir: string;
  readonly engine: 'rocksdb' | 'memory';
  readonly deadLetters: DeadLetterSerializer;
  /**
   * The application's topics: the platform topics a topology reads are
   * created as they declare before anyone wrote them, and a failure on a
   * topic keyed by user has its key hashed in messages.
   */
  readonly topics: TopicCatalogue;
  readonly logger: Logger;
  /** How often processed work is committed. Default 100. */
  readonly commitIntervalMs?: number;
  /**
   * In `run()`, a commit starts early once the input has been idle this
   * long with processed records not yet committed, so a view is visible a
   * few milliseconds after a lone event instead of up to a commit interval
   * later; under steady input the interval alone paces commits. 0 disables.
   * Default 10.
   */
  readonly commitIdleMs?: number;
  /** Records per poll. Default 2000. */
  readonly maxPollRecords?: number;
  /** Only run the tasks of these partitions (scale-out by partition sets); default all. */
  readonly partitions?: readonly number[];
  /** Where a task with no committed state starts. Default earliest (Kafka Streams' default). */
  readonly resetTo?: 'earliest' | 'latest';
  readonly metrics?: RuntimeMetrics;
  /** Progress of changelog restores, per store. */
  readonly onRestore?: (store: string, partition: number, restored: number, total: number) => void;
  /**
   * The state namespace this instance runs in (namespace.ts); the topology
   * and state dir given are already that namespace's. Names the consumer
   * group `<applicationId>@<namespace>`, so the group offsets of a blue and
   * a green instance stay apart.
   */
  readonly namespace?: string;
  /**
   * While it returns true, outputs to topics this topology does not read
   * itself (training examples, dead letters) are dropped at commit: a
   * green instance rebuilding history must not emit it again. Asked at each
   * commit. Internal topics are always written.
   */
  readonly outputsMuted?: () => boolean;
}

/** What a run did: returned by `run()` and `runUntilCaughtUp()`, and asked at any time by `progress()`. */
export interface RunStats {
  readonly processed: number;
  readonly deadLetters: number;
  readonly commits: number;
}

/** The options that pace the runner's loop, with their defaults applied. */
export interface Pacing {
  readonly commitIntervalMs: number;
  /** 0: an idle input never starts a commit early. */
  readonly commitIdleMs: number;
  readonly maxPollRecords: number;
}

/** Resolves the loop's pacing once, so the per-poll path reads plain numbers. */
export function pacingOf(options: RunnerOptions): Pacing {
  return {
    commitIntervalMs: options.commitIntervalMs ?? 100,
    commitIdleMs: options.commitIdleMs ?? 10,
    maxPollRecords: options.maxPollRecords ?? 2000,
  };
}
