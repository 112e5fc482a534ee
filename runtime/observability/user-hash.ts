/**
 * The one way a user id reaches a log line or a human-readable error:
 * `hashUserId`, an HMAC-SHA256 under the deployment's key
 * (`RECSTREAM_LOG_HASH_KEY`). A plain hash of ids like `u42` is undone by
 * hashing every candidate id; a keyed one is not, without the key.
 *
 * The key is the process's: set once at start from the configuration
 * (`useLogHashKey`, called by `openPlatform` and the `recstream` command),
 * else a random one generated once when this module loads, so that within a
 * process one user always hashes alike. Worker threads get the same key:
 * it is published with `setEnvironmentData`, which every Worker started
 * afterwards receives.
 *
 * @example
 * ```ts
 * useLogHashKey(loadConfig().logHashKey);   // at process start
 * logger.warn({ user: hashUserId('u42') }, 'user view unreadable');
 * ```
 */
import { createHmac, randomBytes } from 'node:crypto';
import { getEnvironmentData, isMainThread, setEnvironmentData } from 'node:worker_threads';
import { ConfigError } from '../errors.js';

/** The variable that holds the key. */
export const LOG_HASH_KEY_ENV = 'RECSTREAM_LOG_HASH_KEY';
/** Shortest key accepted: 32 characters carry 128 bits even as hex. */
export const LOG_HASH_KEY_MIN_LENGTH = 32;
/** Hex digits kept of the HMAC: 64 bits, no collision expected below billions of users. */
const HASH_HEX_DIGITS = 16;
const ENVIRONMENT_KEY = 'recstream.logHashKey';

let key: Buffer = initialKey();

function initialKey(): Buffer {
  if (!isMainThread) {
    const inherited = getEnvironmentData(ENVIRONMENT_KEY);
    if (inherited instanceof Uint8Array) return Buffer.from(inherited);
  }
  const generated = randomBytes(32);
  setEnvironmentData(ENVIRONMENT_KEY, generated);
  return generated;
}

/**
 * Why `value` cannot be the key, or undefined when it can: at least 32
 * characters, none of them white space or control characters (a key pasted
 * with its newline would silently differ between replicas). Its UTF-8 bytes
 * are the HMAC key.
 */
export function logHashKeyProblem(value: string): string | undefined {
  if (value.length < LOG_HASH_KEY_MIN_LENGTH)
    return `${LOG_HASH_KEY_ENV} must be at least ${LOG_HASH_KEY_MIN_LENGTH} characters (it has ${value.length}); e.g. openssl rand -hex 32`;
  if (/[\s\u0000-\u001f\u007f]/.test(value))
    return `${LOG_HASH_KEY_ENV} must not contain white space or control characters (a trailing newline?)`;
  return undefined;
}

/**
 * Sets the process's key from the configuration; `undefined` keeps the
 * random key generated at load. Workers started afterwards inherit it.
 *
 * @throws ConfigError when the key is too short or holds white space
 */
export function useLogHashKey(value: string | undefined): void {
  if (value === undefined) return;
  const problem = logHashKeyProblem(value);
  if (problem !== undefined) throw new ConfigError(problem);
  key = Buffer.from(value, 'utf8');
  setEnvironmentData(ENVIRONMENT_KEY, key);
}

/**
 * A user id as logs and error messages show it: the first 16 hex digits of
 * HMAC-SHA256(key, id). Equal ids give equal hashes under one key, so a
 * user's lines correlate; nothing outside the key's holders can map a hash
 * back to an id.
 *
 * @example
 * ```ts
 * logger.info({ user: hashUserId('u42') }, 'opted out');   // { user: '3be1…' }
 * ```
 */
export function hashUserId(userId: string): string {
  return createHmac('sha256', key).update(userId, 'utf8').digest('hex').slice(0, HASH_HEX_DIGITS);
}

/**
 * A user id as a human-readable message names it: `user#<hash>`.
 *
 * @example
 * ```ts
 * throw new ProcessingError(`${describeUser(key)} has no profile`);   // 'user#3be1… has no profile'
 * ```
 */
export function describeUser(userId: string): string {
  return `user#${hashUserId(userId)}`;
}

/** What an id matches inside text: not part of a longer id (ids are letters, digits and `._:@-`). */
function standalone(id: string): RegExp {
  const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![A-Za-z0-9._:@-])${escaped}(?![A-Za-z0-9._:@-])`, 'g');
}

/**
 * `text` with every standalone occurrence of `userId` replaced by
 * `user#<hash>`: for messages written by code that did not hash (a decoder,
 * a third-party library) before they reach a log or a dead letter.
 *
 * @example
 * ```ts
 * redactUserId('key "u42" is not its user_id', 'u42');   // 'key "user#3be1…" is not its user_id'
 * ```
 */
export function redactUserId(text: string, userId: string): string {
  if (userId === '' || !text.includes(userId)) return text;
  return text.replace(standalone(userId), describeUser(userId));
}
