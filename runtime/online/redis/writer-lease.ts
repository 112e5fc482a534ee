/**
 * The writer lease of a namespace: one materializer writes a namespace at a
 * time. The lease is a key with a TTL that its owner renews; a stalled
 * owner loses it once it expires.
 *
 * @example
 * ```ts
 * await acquireLease(commands, keys, 'blue', owner, 30_000);
 * ```
 */
import { OnlineStoreError } from '../../errors.js';
import type { RedisCommands } from './commands.js';
import { checkName, type RedisKeys } from './keys.js';

/** Takes the lease, or holds it already; refused while another owner holds it. */
export async function acquireLease(
  commands: RedisCommands,
  keys: RedisKeys,
  namespace: string,
  owner: string,
  ttlMs: number,
): Promise<void> {
  checkName('namespace', namespace);
  const key = keys.lease(namespace);
  const taken = await commands.call(`take the writer lease of ${namespace}`, () =>
    commands.client.set(key, owner, 'PX', ttlMs, 'NX'),
  );
  if (taken === 'OK') return;
  const holder = await commands.call(`read the writer lease of ${namespace}`, () => commands.client.get(key));
  if (holder === owner) return;
  throw new OnlineStoreError(
    `namespace ${namespace} is being written by another materializer (${holder ?? 'lease just released'}); its lease lasts ${ttlMs} ms after it stops — stop it first, or materialize into another namespace`,
    undefined,
    true,
  );
}

/** Extends the lease, or takes it again when it expired unclaimed; fails when another owner took it. */
export async function renewLease(
  commands: RedisCommands,
  keys: RedisKeys,
  namespace: string,
  owner: string,
  ttlMs: number,
): Promise<'renewed' | 'reacquired'> {
  checkName('namespace', namespace);
  const result = await commands.call(`renew the writer lease of ${namespace}`, () =>
    commands.scripts.recstreamRenewLease(keys.lease(namespace), owner, String(ttlMs)),
  );
  if (result === 1) return 'renewed';
  if (result === 2) return 'reacquired';
  throw new OnlineStoreError(
    `lost the writer lease of namespace ${namespace} to another materializer (it expired while this one was stalled); stopping`,
  );
}

/** Gives the lease up, if `owner` still holds it. */
export async function releaseLease(
  commands: RedisCommands,
  keys: RedisKeys,
  namespace: string,
  owner: string,
): Promise<void> {
  checkName('namespace', namespace);
  await commands.call(`release the writer lease of ${namespace}`, () =>
    commands.scripts.recstreamReleaseLease(keys.lease(namespace), owner),
  );
}
