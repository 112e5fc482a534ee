/**
 * Whether the responder may serve its data endpoints
 * (`GET /v1/recommendations/:userId`, `POST /v1/events`,
 * `GET /v1/users/:userId/history`) without credentials, decided once at
 * start from where it listens:
 *
 * - credentials configured (a JWT secret or key, or API keys): they are
 *   required; nothing is open.
 * - none, and `RECSTREAM_HTTP_HOST` is loopback (127.0.0.0/8, ::1,
 *   localhost): open, as the demo on 127.0.0.1 is; only this host can call.
 * - none, on any other address (0.0.0.0, ::, a LAN address, a host name):
 *   refused with DataEndpointsOpenError, unless
 *   `RECSTREAM_DATA_ENDPOINTS_OPEN=true` says it is meant (then open, with a
 *   warning).
 *
 * `summary` is the one line the responder logs and the commands print.
 *
 * @example
 * ```ts
 * const access = dataEndpointAccess(config, await Authenticator.fromConfig(config)); // throws when refused
 * logger.info(access.summary);
 * ```
 */
import { isIP } from 'node:net';
import type { Config } from '../../runtime/config.js';
import { DataEndpointsOpenError } from '../errors.js';
import type { Authenticator } from './authenticator.js';

export interface DataEndpointAccess {
  /** True when the data endpoints answer without credentials. */
  readonly open: boolean;
  /** `credentials`, `loopback` (open on a loopback address) or `override` (open because the operator said so). */
  readonly why: 'credentials' | 'loopback' | 'override';
  readonly summary: string;
}

const DATA_ROUTES = 'GET /v1/recommendations/:userId, POST /v1/events and GET /v1/users/:userId/history';
const AUTH_VARIABLES = 'RECSTREAM_JWT_SECRET, RECSTREAM_JWT_PUBLIC_KEY or RECSTREAM_API_KEYS';

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped loopback) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) {
    if (bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

/** Decides the data endpoints' access; throws DataEndpointsOpenError when the responder must not start. */
export function dataEndpointAccess(
  config: Pick<Config, 'httpHost' | 'dataEndpointsOpen'>,
  authenticator: Pick<Authenticator, 'configured' | 'describe'>,
): DataEndpointAccess {
  if (authenticator.configured)
    return {
      open: false,
      why: 'credentials',
      summary: `${DATA_ROUTES} need credentials: ${authenticator.describe()}`,
    };
  if (isLoopbackHost(config.httpHost))
    return {
      open: true,
      why: 'loopback',
      summary: `${DATA_ROUTES} are open to anyone on this host: no credentials are configured and the responder listens on loopback ${config.httpHost} (set ${AUTH_VARIABLES} to require them)`,
    };
  if (config.dataEndpointsOpen === 'true')
    return {
      open: true,
      why: 'override',
      summary: `${DATA_ROUTES} are open to anyone who reaches ${config.httpHost}: no credentials are configured and RECSTREAM_DATA_ENDPOINTS_OPEN=true`,
    };
  throw new DataEndpointsOpenError(
    `refusing to listen on ${config.httpHost} with ${DATA_ROUTES} open to anyone: set ${AUTH_VARIABLES} to require credentials, listen on loopback (RECSTREAM_HTTP_HOST=127.0.0.1), or set RECSTREAM_DATA_ENDPOINTS_OPEN=true to serve them open on purpose`,
  );
}
