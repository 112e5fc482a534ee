/**
 * `profiles`: the users table of `rec.users` (compacted, keyed by user_id).
 * Store `users` keeps each user's last few profile versions by `updated_ts`
 * (`features/math/versioned.ts`), so `user-features` reads a profile *as of
 * an interaction's event time*; the newest version is the current profile,
 * which responders read (with `opt_out`) through the online store.
 *
 * A tombstone deletes the user; a current profile with `opt_out` purges
 * them: both forward a `UserPurge` to `user-features`, which deletes the
 * user's view and keeps their pending events out of every view and
 * training example.
 *
 * @example
 * ```ts
 * builder.addSource('users', ['rec.users'], userDeserializer)
 *   .addProcessor('profiles', () => new Profiles(), ['users'])
 *   .addStore({ name: USERS_STORE, codec: profileHistoryCodec, keyedByRecordKey: true }, ['profiles', 'user-features']);
 * ```
 */
import { asOf, latest, type Versioned, withVersion } from '../../features/math/versioned.js';
import type { ProfileVersion } from '../../features/views/attributes.js';
import { ProcessingError } from '../../runtime/errors.js';
import { describeUser } from '../../runtime/observability/user-hash.js';
import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor/processor.js';
import { avroCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { User } from '../../schemas/generated/types.js';

export const USERS_STORE = 'users';

export type ProfileHistory = Versioned<ProfileVersion>;

/** Sent to `user-features` when a user must be forgotten (opt-out or deletion). */
export interface UserPurge {
  readonly kind: 'purge';
  readonly user_id: string;
}

/** Store `users`: key user_id, value the profile versions, oldest first (Avro). */
export const profileHistoryCodec: ValueCodec<ProfileHistory> = avroCodec<ProfileHistory>({
  type: 'record',
  name: 'ProfileHistory',
  namespace: 'rec.state',
  fields: [
    {
      name: 'versions',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'ProfileVersionAt',
          fields: [
            { name: 'ts', type: 'long' },
            {
              name: 'value',
              type: {
                type: 'record',
                name: 'ProfileVersion',
                fields: [
                  { name: 'country', type: ['null', 'string'] },
                  { name: 'language', type: ['null', 'string'] },
                  { name: 'age_bucket', type: ['null', 'string'] },
                  { name: 'signup_ts', type: 'long' },
                  { name: 'opt_out', type: 'boolean' },
                ],
              },
            },
          ],
        },
      },
    },
  ],
});

/** The current profile (newest version). */
export function currentProfile(history: ProfileHistory | undefined): ProfileVersion | undefined {
  return latest(history);
}

/** The profile as of event time `ts`. */
export function profileAsOf(history: ProfileHistory | undefined, ts: number): ProfileVersion | undefined {
  return asOf(history, ts);
}

/**
 * Whether an interaction at `ts` must stay out of the user's features and
 * training: the user is opted out now, or was at the time of the event.
 */
export function isOptedOut(history: ProfileHistory | undefined, ts: number): boolean {
  return latest(history)?.opt_out === true || asOf(history, ts)?.opt_out === true;
}

export class Profiles implements Processor<User | null, UserPurge> {
  private users!: KeyValueStore<ProfileHistory>;
  private ctx!: ProcessorContext<UserPurge>;

  init(ctx: ProcessorContext<UserPurge>): void {
    this.ctx = ctx;
    this.users = ctx.store(USERS_STORE);
  }

  async process(record: StreamRecord<User | null>): Promise<void> {
    const key = record.key;
    if (key === null) throw new ProcessingError('rec.users record has no key (the key is the user_id)');
    const user = record.value;
    if (user === null) {
      this.users.delete(key);
      this.purge(key, record.timestamp);
      return;
    }
    if (user.user_id !== key)
      throw new ProcessingError(
        `rec.users record key ${describeUser(key)} is not its user_id ${describeUser(user.user_id)}`,
      );
    const next = withVersion(await this.users.get(key), user.updated_ts, {
      country: user.country,
      language: user.language,
      age_bucket: user.age_bucket,
      signup_ts: user.signup_ts,
      opt_out: user.opt_out,
    });
    this.users.put(key, next);
    if (latest(next)!.opt_out) this.purge(key, record.timestamp);
  }

  private purge(userId: string, timestamp: number): void {
    this.ctx.forward({ key: userId, value: { kind: 'purge', user_id: userId }, timestamp });
  }
}
