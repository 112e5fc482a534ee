/**
 * The `opt-outs` global table of the `co-visitation` application: for every
 * user who has ever opted out, their `opt_out` flag by `updated_ts` (the
 * last few versions, `features/math/versioned.ts`); users who never opted
 * out are not held. Every task reads it in full, loaded before the first
 * record and caught up before every poll, so whether an interaction pairs
 * is decided by the user's profile *as of the interaction's event time*,
 * not by whether the task happened to read the user's `rec.users` record
 * before the interaction (which depends on how polls interleave the two
 * topics: commit timing, a restart's positions, a replay).
 *
 * @example
 * ```ts
 * builder.addGlobalTable({ name: OPT_OUTS, topic: 'rec.users', deserializer, reduce: reduceOptOuts });
 * if (optedOutAt(ctx.globalTable(OPT_OUTS), event.user_id, event.ts)) return;
 * ```
 */
import { asOf, type Versioned, withVersion } from '../../features/math/versioned.js';
import type { GlobalTableView } from '../../runtime/processor/processor.js';
import type { User } from '../../schemas/generated/types.js';

export const OPT_OUTS = 'opt-outs';

/**
 * Global table reducer over rec.users. A deletion keeps what is known (its
 * interactions stay unpaired); a record whose key is not its user_id is
 * left out.
 */
export function reduceOptOuts(
  current: Versioned<boolean> | undefined,
  user: User | null,
  record: { readonly key: string },
): Versioned<boolean> | undefined {
  if (user === null || user.user_id !== record.key) return current;
  if (current === undefined && !user.opt_out) return undefined;
  return withVersion(current, user.updated_ts, user.opt_out);
}

/** Whether the user's profile as of `ts` opts out. */
export function optedOutAt(table: GlobalTableView<Versioned<boolean>>, userId: string, ts: number): boolean {
  return asOf(table.get(userId), ts) === true;
}
