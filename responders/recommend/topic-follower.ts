/**
 * Follows a topic from its earliest offset without a consumer group: what
 * a stateless responder does with the small topics it folds (the catalog,
 * profiles, model and index versions). `ready` resolves once it has handed
 * over everything the topic held when it started (or at once when the
 * topic does not exist yet); then it polls every `pollMs` for more. Each
 * partition's records arrive in offset order. A failure before `ready`
 * rejects it (the responder does not start on a log it cannot read); a
 * failure after it is logged and the read is tried again a second later
 * from the same position, so a log that hiccups never stops the follower
 * for good; a position whose records were deleted meanwhile (retention)
 * moves to the partition's start.
 *
 * @example
 * ```ts
 * const follower = TopicFollower.start({ log, topic: 'rec.model-versions', logger,
 *   onRecords: async (records) => { for (const r of records) registry.apply(await decode(r.value!)); } });
 * await follower.ready;
 * await follower.close();
 * ```
 */
import { OffsetOutOfRangeError } from '../../runtime/errors.js';
import type { EventLog, LogRecord } from '../../runtime/log/log.js';
import type { Logger } from '../../runtime/observability/logger.js';

export interface TopicFollowerOptions {
  readonly log: EventLog;
  readonly topic: string;
  readonly logger: Logger;
  /** Called with each partition's new records, in offset order. */
  readonly onRecords: (records: readonly LogRecord[]) => Promise<void> | void;
  /** Pause between reads that found nothing new; default 25 ms. */
  readonly pollMs?: number;
}

const READ_BATCH = 2000;
const RETRY_MS = 1000;

export class TopicFollower {
  private readonly positions: number[] = [];
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;
  readonly ready: Promise<void>;

  private constructor(private readonly options: TopicFollowerOptions) {
    let resolveReady!: () => void;
    let rejectReady!: (error: unknown) => void;
    this.ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.loop = this.follow(resolveReady, rejectReady);
  }

  static start(options: TopicFollowerOptions): TopicFollower {
    return new TopicFollower(options);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async follow(resolveReady: () => void, rejectReady: (error: unknown) => void): Promise<void> {
    const { log, topic, logger } = this.options;
    // The ends the topic had when this follower started.
    let ends: number[] | undefined;
    let caughtUp = false;
    while (!this.stopped) {
      let read = 0;
      let pause = this.options.pollMs ?? 25;
      try {
        const info = await log.describeTopic(topic);
        if (info !== undefined) {
          if (this.positions.length < info.partitions) {
            const offsets = await log.offsets(topic);
            for (let p = this.positions.length; p < info.partitions; p++)
              this.positions.push(offsets.find((o) => o.partition === p)?.start ?? 0);
            ends ??= offsets.map((o) => o.end);
          }
          for (let p = 0; p < this.positions.length && !this.stopped; p++)
            read += await this.readPartition(p);
        }
        if (!caughtUp && (ends === undefined || this.positions.every((at, p) => at >= (ends![p] ?? 0)))) {
          caughtUp = true;
          resolveReady();
        }
      } catch (error) {
        if (!caughtUp) {
          rejectReady(error);
          return;
        }
        if (error instanceof OffsetOutOfRangeError) await this.rewindDeleted();
        logger.warn({ err: error, topic }, 'reading a followed topic failed; trying again in 1 s');
        pause = RETRY_MS;
      }
      if (read > 0) continue;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, pause).unref();
      });
    }
  }

  /** Positions below a partition's start (records deleted by retention) move to the start. */
  private async rewindDeleted(): Promise<void> {
    for (const o of await this.options.log.offsets(this.options.topic).catch(() => []))
      if ((this.positions[o.partition] ?? o.start) < o.start) this.positions[o.partition] = o.start;
  }

  private async readPartition(partition: number): Promise<number> {
    const records = await this.options.log.read(
      this.options.topic,
      partition,
      this.positions[partition]!,
      READ_BATCH,
    );
    if (records.length === 0) return 0;
    await this.options.onRecords(records);
    this.positions[partition] = records[records.length - 1]!.offset + 1;
    return records.length;
  }
}
