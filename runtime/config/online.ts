/**
 * Settings of the online store: Redis, or the processors' own stores.
 *
 * @example
 * ```ts
 * ONLINE_STORE_SETTINGS.redisUrl.env; // 'RECSTREAM_REDIS_URL'
 * ```
 */
import type { Setting } from './setting.js';

/** Where the online store lives and how its keys are prefixed. */
export const ONLINE_STORE_SETTINGS = {
  redisUrl: {
    env: 'RECSTREAM_REDIS_URL',
    kind: 'url',
    default: undefined,
    doc: "Redis URL for the online store; unset serves from the processors' own stores",
  },
  redisKeyPrefix: {
    env: 'RECSTREAM_REDIS_KEY_PREFIX',
    kind: 'string',
    default: 'recstream',
    doc: 'prefix of every online-store key in Redis (several deployments can share one server)',
  },
} as const satisfies Record<string, Setting>;
