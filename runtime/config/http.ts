/**
 * Settings of the HTTP server: where it listens, the limits of
 * `POST /v1/events`, request rates and which proxies are trusted.
 *
 * @example
 * ```ts
 * HTTP_SETTINGS.httpPort.default; // 8080
 * ```
 */
import type { Setting } from './setting.js';

/** Where the server listens, and the ingest's body, in-flight and dedup-window limits. */
export const HTTP_SETTINGS = {
  httpPort: {
    env: 'RECSTREAM_HTTP_PORT',
    kind: 'int',
    min: 0,
    max: 65535,
    default: 8080,
    doc: 'responder HTTP port',
  },
  httpHost: {
    env: 'RECSTREAM_HTTP_HOST',
    kind: 'string',
    default: '127.0.0.1',
    doc: 'address the responder listens on; 0.0.0.0 for every interface (then credentials must be configured, or RECSTREAM_DATA_ENDPOINTS_OPEN=true)',
  },
  ingestMaxBodyBytes: {
    env: 'RECSTREAM_INGEST_MAX_BODY_BYTES',
    kind: 'int',
    min: 1024,
    max: 64 * 1024 * 1024,
    default: 1024 * 1024,
    doc: 'largest POST /v1/events body; larger gets 413',
  },
  ingestMaxInFlightEvents: {
    env: 'RECSTREAM_INGEST_MAX_IN_FLIGHT_EVENTS',
    kind: 'int',
    min: 1000,
    max: 10_000_000,
    default: 20_000,
    doc: 'events accepted but not yet acknowledged by the log before POST /v1/events answers 429',
  },
  ingestDedupWindowMs: {
    env: 'RECSTREAM_INGEST_DEDUP_WINDOW_MS',
    kind: 'int',
    min: 1000,
    max: 30 * 24 * 3600 * 1000,
    default: 24 * 3600 * 1000,
    doc: 'POST /v1/events remembers accepted event ids at least this long (at most twice) to drop resends',
  },
} as const satisfies Record<string, Setting>;

/** Request rates per client and for the admin API, and the proxies whose forwarded addresses are believed. */
export const HTTP_LIMIT_SETTINGS = {
  rateLimitPerSecond: {
    env: 'RECSTREAM_RATE_LIMIT_PER_S',
    kind: 'int',
    min: 0,
    max: 10_000_000,
    default: 6000,
    doc: 'requests per second one client (the subject of its credentials, else its address) may make to the responder; 0 turns the limit off',
  },
  adminRateLimitPerSecond: {
    env: 'RECSTREAM_ADMIN_RATE_LIMIT_PER_S',
    kind: 'int',
    min: 0,
    max: 10_000,
    default: 5,
    doc: 'requests per second one client may make to /admin/*, counted apart from the other routes; 0 turns the limit off',
  },
  trustProxy: {
    env: 'RECSTREAM_TRUST_PROXY',
    kind: 'trust-proxy',
    default: 'false',
    doc: "whose X-Forwarded-For names the client address the rate limit counts by: false (nobody's: the socket's peer is the client) or the trusted proxies' addresses and CIDR ranges, comma-separated (e.g. 10.0.0.0/8,127.0.0.1; also loopback, linklocal, uniquelocal)",
  },
} as const satisfies Record<string, Setting>;
