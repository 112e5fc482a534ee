/**
 * What a `user-features` task sends to `rec.interactions.enriched`:
 * interactions with their user's features, keyed by item, each with the
 * task's next sequence number and a promise (`frontier`) that no on-time
 * interaction earlier than it follows; bare watermarks to partitions that
 * have had no promise for `watermarkIntervalMs` of watermark progress; and
 * purge notices to every partition. The sequence and the latest promise per
 * partition live in the task's clock (`user-clock.ts`), so the stream is a
 * function of the input alone.
 *
 * @example
 * ```ts
 * const output = new EnrichedOutput(ctx, clock, options.watermarkIntervalMs);
 * output.emit(interaction, features, interaction.ts, false, null);
 * output.sendWatermarks(frontier);
 * ```
 */
import { partitionForKey } from '../../runtime/log/partitioner.js';
import type { ProcessorContext } from '../../runtime/processor/processor.js';
import type {
  EnrichedInteraction,
  Interaction,
  ServedPosition,
  UserFeatures,
} from '../../schemas/generated/types.js';
import type { UserClock } from './user-clock.js';

export class EnrichedOutput {
  constructor(
    private readonly ctx: ProcessorContext<EnrichedInteraction>,
    /** The task's clock: `sequence` and `promised` move with what is sent. */
    private readonly clock: UserClock,
    private readonly watermarkIntervalMs: number,
  ) {}

  /** Sends an interaction with `user`'s features; `frontier`: the task will send no on-time interaction earlier than this after the record. */
  emit(
    event: Interaction,
    user: UserFeatures | null,
    frontier: number,
    late: boolean,
    served: ServedPosition | null,
  ): void {
    const promised = this.clock.promised;
    const partition = partitionForKey(event.item_id, this.ctx.partitionCount);
    if (frontier > promised[partition]!) promised[partition] = frontier;
    this.ctx.forward({
      key: event.item_id,
      value: {
        interaction: event,
        user,
        source_partition: this.ctx.partition,
        sequence: this.clock.sequence++,
        frontier,
        late,
        purged_user_id: null,
        served,
      },
      timestamp: event.ts,
    });
  }

  /** A bare watermark to each partition of the enriched topic whose latest promise is an interval behind. */
  sendWatermarks(frontier: number): void {
    const promised = this.clock.promised;
    for (let partition = 0; partition < this.ctx.partitionCount; partition++) {
      if (frontier - promised[partition]! < this.watermarkIntervalMs) continue;
      promised[partition] = frontier;
      this.notify(partition, frontier, null, frontier);
    }
  }

  /** A bare watermark to each partition of the enriched topic not yet promised `frontier` (the input ended). */
  promiseEveryPartition(frontier: number): void {
    const promised = this.clock.promised;
    for (let partition = 0; partition < this.ctx.partitionCount; partition++) {
      if (promised[partition]! >= frontier) continue;
      promised[partition] = frontier;
      this.notify(partition, frontier, null, frontier);
    }
  }

  /** Tells every item-features task to drop what it holds of `userId`. */
  sendPurge(userId: string, timestamp: number): void {
    // Frontier 0: not a promise; item-features ignores the frontier of a purge notice.
    for (let partition = 0; partition < this.ctx.partitionCount; partition++)
      this.notify(partition, 0, userId, timestamp);
  }

  /** A control record to one item-features task: a watermark promise, or a purge notice. */
  private notify(partition: number, frontier: number, purgedUserId: string | null, timestamp: number): void {
    this.ctx.forward({
      key: null,
      partition,
      value: {
        interaction: null,
        user: null,
        source_partition: this.ctx.partition,
        sequence: this.clock.sequence - 1,
        frontier,
        late: false,
        purged_user_id: purgedUserId,
        served: null,
      },
      timestamp,
    });
  }
}
