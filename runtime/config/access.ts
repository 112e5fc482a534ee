/**
 * Settings of who may call what: JWT verification, API keys, and whether
 * the data endpoints are open without a token.
 *
 * @example
 * ```ts
 * ACCESS_SETTINGS.apiKeys.env; // 'RECSTREAM_API_KEYS'
 * ```
 */
import type { Setting, ValuesOf } from './setting.js';

/** The credentials the HTTP API accepts, and the endpoints open without them. */
export const ACCESS_SETTINGS = {
  jwtSecret: {
    env: 'RECSTREAM_JWT_SECRET',
    kind: 'string',
    default: undefined,
    doc: 'HS256 secret (32 bytes or more) of the bearer JWTs the responder accepts, their scope claim naming recommendations:read, events:write, users:read and/or admin; with no secret, public key or API key the admin API is off',
  },
  jwtPublicKey: {
    env: 'RECSTREAM_JWT_PUBLIC_KEY',
    kind: 'string',
    default: undefined,
    doc: 'PEM public key (RS256 for RSA, ES256 for EC P-256) of the bearer JWTs the responder accepts',
  },
  apiKeys: {
    env: 'RECSTREAM_API_KEYS',
    kind: 'api-keys',
    default: undefined,
    doc: 'static API keys, sent as Authorization: ApiKey <key>: comma-separated name:scope+scope:sha256hex, the sha256 of each key in hex (printf %s "$KEY" | sha256sum), e.g. producer:events:write:9f86…',
  },
  dataEndpointsOpen: {
    env: 'RECSTREAM_DATA_ENDPOINTS_OPEN',
    kind: 'enum',
    values: ['true', 'false'],
    default: 'false',
    doc: 'true lets a responder on a non-loopback RECSTREAM_HTTP_HOST serve recommendations, POST /v1/events and user histories to anyone when no credentials are configured; false refuses to start there',
  },
  attributeAnonymous: {
    env: 'RECSTREAM_ATTRIBUTE_ANONYMOUS',
    kind: 'enum',
    values: ['true', 'false'],
    default: undefined,
    doc: 'whether served lists asked for without credentials (caller null) count as experiment impressions and become training exposures; false ignores them. Unset: true when no RECSTREAM_JWT_SECRET, RECSTREAM_JWT_PUBLIC_KEY or RECSTREAM_API_KEYS is configured (open loopback mode), false when one is',
  },
} as const satisfies Record<string, Setting>;

/**
 * RECSTREAM_ATTRIBUTE_ANONYMOUS as a decision: its value when set, else
 * whether this process has no credentials configured. Read where served
 * lists are consumed (experiment-metrics, features): a process without the
 * responder's credentials in its environment defaults to true, so a
 * deployment that requires credentials sets it to false for every role.
 */
export function attributesAnonymous(
  config: Pick<
    ValuesOf<typeof ACCESS_SETTINGS>,
    'attributeAnonymous' | 'jwtSecret' | 'jwtPublicKey' | 'apiKeys'
  >,
): boolean {
  if (config.attributeAnonymous !== undefined) return config.attributeAnonymous === 'true';
  return config.jwtSecret === undefined && config.jwtPublicKey === undefined && config.apiKeys === undefined;
}
