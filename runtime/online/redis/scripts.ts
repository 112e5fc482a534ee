/**
 * Lua scripts of the Redis back-end. Each touches keys of one hash slot only
 * (Redis Cluster runs a script on one node), and ioredis sends them as
 * EVALSHA (EVAL once per connection), so a pipeline of them is one round trip.
 */
import { VERSION_FIELD_SUFFIX } from './keys.js';

/**
 * Versioned compare-and-set of one view of one entity.
 * KEYS[1]: entity hash. ARGV: view, version, floor, op ('p' put | 'd' delete), value.
 * Applies when the version is newer than the stored one, or, for a view the
 * entity does not hold, newer than the floor (at or below it, the value was
 * deleted since). A delete removes the field and its version: no tombstone
 * stays behind, and Redis removes the hash with its last field.
 * Returns 1 when applied, 0 when skipped.
 */
export const VERSIONED_SET = `
local vfield = ARGV[1] .. '${VERSION_FIELD_SUFFIX}'
local version = tonumber(ARGV[2])
local current = redis.call('HGET', KEYS[1], vfield)
if current then
  if version <= tonumber(current) then return 0 end
elseif version <= tonumber(ARGV[3]) then
  return 0
end
if ARGV[4] == 'd' then
  redis.call('HDEL', KEYS[1], ARGV[1], vfield)
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[5], vfield, ARGV[2])
end
return 1
`;

/**
 * The blue/green swap. KEYS: pointer, namespaces, retired (one slot: `{P}`).
 * ARGV: namespace, now. Fails for an unregistered namespace; records when
 * the previous one stopped serving (the start of its drop grace period).
 * Returns the previous namespace, or false when there was none.
 */
export const ACTIVATE = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  return redis.error_reply('NONAMESPACE ' .. ARGV[1])
end
local previous = redis.call('GET', KEYS[1])
if previous == ARGV[1] then return previous end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if previous then redis.call('HSET', KEYS[3], previous, ARGV[2]) end
return previous
`;

/**
 * Unregisters a namespace unless it is active. KEYS: pointer, namespaces,
 * retired. ARGV: namespace. Returns the ts it was retired at ('' if it never
 * served); fails for the active namespace.
 */
export const UNREGISTER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.error_reply('ACTIVENAMESPACE ' .. ARGV[1])
end
local retired = redis.call('HGET', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return retired or ''
`;

/**
 * Writer lease of a namespace. KEYS[1]: the lease key. ARGV: owner, ttl ms.
 * Returns 1 when the owner held it (extended), 2 when it was free and is
 * taken again, 0 when another owner holds it.
 */
export const RENEW_LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
`;

/** KEYS[1]: the lease key. ARGV: owner. Deletes the lease only if the owner holds it. */
export const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
