/**
 * The store's Redis commands: its Lua scripts defined on the client, and
 * every command and pipeline counted as a round trip, with Redis errors
 * turned into the platform's (connection errors retriable).
 *
 * @example
 * ```ts
 * const commands = new RedisCommands(client);
 * const active = await commands.call('read the active namespace', () => client.get(pointer));
 * ```
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { ConnectionError } from '../../errors.js';
import { fromRedisError } from './connection.js';
import { ACTIVATE, RELEASE_LEASE, RENEW_LEASE, UNREGISTER, VERSIONED_SET } from './scripts.js';

/** The scripts as ioredis defines them on the client and its pipelines. */
export interface ScriptCommands {
  recstreamVersionedSet(key: string, ...args: (string | Buffer)[]): ChainableCommander;
  recstreamRenewLease(key: string, owner: string, ttlMs: string): Promise<number>;
  recstreamReleaseLease(key: string, owner: string): Promise<number>;
  recstreamActivate(
    pointer: string,
    namespaces: string,
    retired: string,
    ...args: string[]
  ): Promise<unknown>;
  recstreamUnregister(pointer: string, namespaces: string, retired: string, ns: string): Promise<string>;
}

/** A client's commands, counted. */
export class RedisCommands {
  /** Commands and pipelines sent so far. */
  roundTrips = 0;
  /** The scripts, on the client. */
  readonly scripts: ScriptCommands;

  constructor(readonly client: Redis) {
    client.defineCommand('recstreamVersionedSet', { numberOfKeys: 1, lua: VERSIONED_SET });
    client.defineCommand('recstreamActivate', { numberOfKeys: 3, lua: ACTIVATE });
    client.defineCommand('recstreamUnregister', { numberOfKeys: 3, lua: UNREGISTER });
    client.defineCommand('recstreamRenewLease', { numberOfKeys: 1, lua: RENEW_LEASE });
    client.defineCommand('recstreamReleaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE });
    this.scripts = client as unknown as ScriptCommands;
  }

  /** Sends `pipeline` (one round trip); a failed command fails it all, naming `what`. */
  async exec(pipeline: ChainableCommander, what: string): Promise<unknown[]> {
    this.roundTrips++;
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (err) {
      throw fromRedisError(err, what);
    }
    if (results === null) throw new ConnectionError(`${what}: Redis discarded the pipeline`);
    return results.map(([err, value]) => {
      if (err) throw fromRedisError(err, what);
      return value;
    });
  }

  /** Sends one command (one round trip), naming `what` when it fails. */
  async call<T>(what: string, command: () => Promise<T>): Promise<T> {
    this.roundTrips++;
    try {
      return await command();
    } catch (err) {
      throw fromRedisError(err, what);
    }
  }
}
