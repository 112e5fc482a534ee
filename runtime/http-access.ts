/**
 * The HTTP access settings' values and their parsers, for runtime/config.ts:
 * the scopes a credential may carry, `RECSTREAM_API_KEYS` and
 * `RECSTREAM_TRUST_PROXY`. Kept apart from the schema table so the table
 * stays one entry per variable.
 *
 * @example
 * ```ts
 * parseApiKeys('RECSTREAM_API_KEYS', `producer:events:write:${sha256hex}`);
 * // [{ name: 'producer', scopes: ['events:write'], sha256: '…' }]
 * parseTrustProxy('RECSTREAM_TRUST_PROXY', '10.0.0.0/8, 127.0.0.1'); // ['10.0.0.0/8', '127.0.0.1']
 * ```
 */
import { isIP } from 'node:net';
import { ConfigError } from './errors.js';

/**
 * What a credential may be allowed to do: `recommendations:read`
 * (GET /v1/recommendations/:userId, whose served list becomes experiment and
 * training data), `events:write` (POST /v1/events), `users:read`
 * (GET /v1/users/:userId/history), `admin` (POST /admin/*).
 */
export const SCOPES = ['recommendations:read', 'events:write', 'users:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** One entry of RECSTREAM_API_KEYS: the key itself is never configured, only its sha256. */
export interface ApiKeyEntry {
  /** Who holds the key: the rate-limit subject and the name in audit logs. */
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** sha256 of the key's UTF-8 bytes, lower-case hex. */
  readonly sha256: string;
}

/**
 * fastify's `trustProxy` in the two forms recstream takes: false
 * (X-Forwarded-For ignored) or the addresses / CIDR ranges of the trusted
 * proxies (X-Forwarded-For believed when one of them sent it, hop by hop).
 */
export type TrustProxy = false | readonly string[];

const KEY_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** proxy-addr's names for the reserved ranges, accepted as fastify accepts them. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Parses `name:scope+scope:sha256hex,…`; every error names the entry (by position and name) and what is wrong. */
export function parseApiKeys(env: string, raw: string): readonly ApiKeyEntry[] {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0)
    throw new ConfigError(`${env} is set but holds no entry (name:scope+scope:sha256hex)`);
  const out: ApiKeyEntry[] = [];
  entries.forEach((entry, i) => {
    const where = `${env} entry ${i + 1}`;
    // Scopes hold colons themselves (events:write): the name ends at the first colon, the hash starts after the last.
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first < 0 || first === last)
      throw new ConfigError(`${where} is not name:scope+scope:sha256hex (it has fewer than two colons)`);
    const name = entry.slice(0, first);
    const scopeList = entry.slice(first + 1, last);
    const sha256 = entry.slice(last + 1).toLowerCase();
    if (!KEY_NAME.test(name))
      throw new ConfigError(
        `${where}: the name ${JSON.stringify(name)} must be 1-64 letters, digits or ._@- characters`,
      );
    const at = `${where} (${name})`;
    if (scopeList === '')
      throw new ConfigError(`${at} names no scope; give one or more of ${SCOPES.join(', ')}`);
    const scopes = scopeList.split('+');
    for (const scope of scopes)
      if (!(SCOPES as readonly string[]).includes(scope))
        throw new ConfigError(`${at}: unknown scope ${JSON.stringify(scope)}; known: ${SCOPES.join(', ')}`);
    if (!SHA256_HEX.test(sha256))
      throw new ConfigError(
        `${at}: the key's sha256 must be 64 hex digits (printf %s "$KEY" | sha256sum), got ${sha256.length} characters`,
      );
    if (out.some((e) => e.name === name)) throw new ConfigError(`${at}: the name is used by another entry`);
    const twin = out.find((e) => e.sha256 === sha256);
    if (twin !== undefined)
      throw new ConfigError(`${at}: the same key is already configured as ${JSON.stringify(twin.name)}`);
    out.push(Object.freeze({ name, scopes: Object.freeze([...new Set(scopes)] as Scope[]), sha256 }));
  });
  return Object.freeze(out);
}

/**
 * Parses `false` or a comma-separated list of IP addresses, CIDR ranges and
 * the names loopback, linklocal, uniquelocal. fastify's other forms are
 * refused, saying why: `true` believes any client's header, and a hop count
 * cannot tell a proxy from a client.
 */
export function parseTrustProxy(env: string, raw: string): TrustProxy {
  const value = raw.trim();
  if (value === 'false') return false;
  if (value === 'true')
    throw new ConfigError(
      `${env}=true would believe the X-Forwarded-For of any caller, who could then pick its own address; name the proxies' addresses or CIDR ranges (e.g. 10.0.0.0/8), or false`,
    );
  if (/^\d+$/.test(value))
    throw new ConfigError(
      `${env}=${value}: a hop count cannot tell a proxy from a client; name the proxies' addresses or CIDR ranges (e.g. 10.0.0.0/8), or false`,
    );
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new ConfigError(`${env} is set but names no proxy`);
  for (const entry of entries)
    if (!isAddressOrRange(entry))
      throw new ConfigError(
        `${env}: ${JSON.stringify(entry)} is not an IP address or CIDR range; give false, or the proxies' addresses / CIDR ranges, comma-separated`,
      );
  return Object.freeze(entries);
}

function isAddressOrRange(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}
