/**
 * The `user-features` task's watermark state, in store `user-clock` under
 * one key: the latest interaction time seen (the watermark is that minus
 * the lateness), the sequence number of the next enriched record, the next
 * input offset not yet processed, served lists that came too late, and the
 * latest promise sent to each partition of the enriched topic.
 *
 * @example
 * ```ts
 * const clock = await loadUserClock(ctx.store(USER_CLOCK_STORE), ctx.partitionCount);
 * clock.max_ts = Math.max(clock.max_ts, interaction.ts);
 * ctx.store(USER_CLOCK_STORE).put(USER_CLOCK_KEY, clock);
 * ```
 */
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';

export const USER_CLOCK_STORE = 'user-clock';
/** The one key of store `user-clock`. */
export const USER_CLOCK_KEY = 'clock';

/** The task's watermark state (store `user-clock`, key `clock`). */
export interface UserClock {
  /** Latest interaction event time seen; -1 before the first. */
  max_ts: number;
  /** Sequence number of the next enriched interaction. */
  sequence: number;
  /** Next offset of the input partition not processed yet: below it, records are re-deliveries. */
  consumed: number;
  /** Served lists that arrived behind the watermark and gave no exposures (absent in stores written before lists were read). */
  late_served_lists?: number;
  /**
   * Latest promise sent to each partition of the enriched topic (-Infinity,
   * stored as null: none yet). Kept with the state so that the enriched
   * stream, bare watermarks included, is a function of the input alone: two
   * instances over the same input (a blue/green rebuild and the instance it
   * replaces) promise the same, and one that read further promises no less.
   */
  promised: number[];
}

export const userClockCodec: ValueCodec<UserClock> = jsonCodec<UserClock>();

/**
 * The task's clock as stored, or a fresh one; `promised` has one entry per
 * partition of the enriched topic (`partitionCount`), -Infinity where none
 * was stored.
 */
export async function loadUserClock(
  store: KeyValueStore<UserClock>,
  partitionCount: number,
): Promise<UserClock> {
  const stored = await store.get(USER_CLOCK_KEY);
  const promised = Array.from(
    { length: partitionCount },
    (_, p) => stored?.promised?.[p] ?? Number.NEGATIVE_INFINITY,
  );
  return { max_ts: -1, sequence: 0, consumed: 0, ...stored, promised };
}
