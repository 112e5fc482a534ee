/**
 * The Redis key design of the online store (see README.md beside this file).
 *
 * ```
 * {P}:active                 string  the active namespace (the blue/green pointer)
 * {P}:namespaces             hash    namespace → created ts (registered namespaces)
 * {P}:retired                hash    namespace → ts it stopped being active
 * P:N:<entity>:{<key>}       hash    view → value bytes, view@v → version, for one entity
 * P:N:progress               hash    topic/partition → next offset, topic/partition@applied → highest applied
 * P:N:lease                  string  owner of the writer lease (expires unless renewed)
 * ```
 *
 * `P` is the key prefix (RECSTREAM_REDIS_KEY_PREFIX), `N` the namespace. The
 * `{…}` hash tags put every view of one entity (all of a user's features) in
 * one Redis Cluster slot, so a user's views are read with one HMGET and
 * purged together; the pointer and the namespace registry share the `{P}`
 * slot, so a swap is one atomic script.
 *
 * @example
 * ```ts
 * const keys = new RedisKeys('recstream');
 * keys.entity('blue', 'user', 'u42'); // 'recstream:blue:user:{u42}'
 * ```
 */
import { OnlineStoreError } from '../../errors.js';

const NAME = /^[A-Za-z0-9_.-]+$/;

/** Throws unless `name` is usable as a prefix or namespace: no glob, brace or separator characters. */
export function checkName(kind: 'key prefix' | 'namespace', name: string): string {
  if (!NAME.test(name) || name.length > 64)
    throw new OnlineStoreError(
      `${kind} ${JSON.stringify(name)} must be 1–64 letters, digits, '_', '.' or '-'`,
    );
  return name;
}

export class RedisKeys {
  readonly activePointer: string;
  readonly namespaces: string;
  readonly retired: string;

  constructor(readonly prefix: string) {
    checkName('key prefix', prefix);
    this.activePointer = `{${prefix}}:active`;
    this.namespaces = `{${prefix}}:namespaces`;
    this.retired = `{${prefix}}:retired`;
  }

  /** The hash of one entity's views. The key itself is the hash tag: one slot per entity. */
  entity(namespace: string, entity: string, key: string): string {
    return `${this.prefix}:${namespace}:${entity}:{${key}}`;
  }

  progress(namespace: string): string {
    return `${this.prefix}:${namespace}:progress`;
  }

  /** The writer lease: the owner id of the one materializer writing the namespace. */
  lease(namespace: string): string {
    return `${this.prefix}:${namespace}:lease`;
  }

  /** SCAN pattern of every data key of a namespace (the registry keys start with `{` and never match). */
  namespacePattern(namespace: string): string {
    return `${this.prefix}:${checkName('namespace', namespace)}:*`;
  }
}

/**
 * Appended to a view's name, the hash field holding the version of that
 * view's value (the VERSIONED_SET script builds the field from it). `@`
 * cannot occur in a view name.
 */
export const VERSION_FIELD_SUFFIX = '@v';
