/**
 * Who may call the admin API (DESIGN.md §8, §9): a bearer JWT, checked with
 * `jose`.
 *
 * Keys, from the configuration:
 * - `RECSTREAM_JWT_SECRET` → HS256 with the secret's UTF-8 bytes; at least
 *   32 bytes (RFC 7518 §3.2: an HS256 key must not be shorter than the hash).
 * - `RECSTREAM_JWT_PUBLIC_KEY` → a PEM SPKI public key: RS256 for an RSA key,
 *   ES256 for an EC P-256 key. Literal `\n` sequences are read as line
 *   breaks, so the PEM fits on one environment-variable line.
 * - Both set: either kind of token is accepted, each only with its own
 *   algorithm. Neither set: the admin API is off (404 `ADMIN_DISABLED`).
 *
 * A token is accepted when its signature verifies with an allowed algorithm,
 * it has an `exp` claim (admin tokens must expire) that has not passed, its
 * `nbf`, when present, has passed (5 s clock tolerance on both), and
 * **its `scope` claim contains `recstream:admin`** — `scope` as OAuth 2
 * issuers write it (RFC 8693 §4.2: a space-separated string), or an array of
 * strings. `iss` and `aud` are not checked: whoever holds the secret or the
 * private key is trusted to mint admin tokens.
 *
 * Refusals, for the route to send as they are:
 * - 401 `UNAUTHENTICATED` with `WWW-Authenticate: Bearer ...` and a
 *   `reason`: `missing` (no Authorization header), `not_bearer` (another
 *   scheme), `malformed`, `bad_signature`, `algorithm_not_allowed`,
 *   `expired`, `not_yet_valid`, `invalid_claims` (e.g. no `exp`).
 * - 403 `FORBIDDEN`: a valid token without the admin scope.
 * - 404 `ADMIN_DISABLED`: no secret and no key configured.
 *
 * @example
 * ```ts
 * const auth = await AdminAuth.fromConfig(platform.config);
 * const result = await auth.authenticate(request.headers.authorization);
 * if (!result.ok) reply.code(result.denial.status).send({ error: result.denial.error, code: result.denial.code });
 * // minting a token the API accepts (HS256):
 * const token = await new SignJWT({ scope: ADMIN_SCOPE }).setProtectedHeader({ alg: 'HS256' })
 *   .setSubject('ops@example.com').setExpirationTime('15m').sign(new TextEncoder().encode(secret));
 * ```
 */
import { createPublicKey } from 'node:crypto';
import { type CryptoKey, errors, importSPKI, type JWTPayload, jwtVerify } from 'jose';
import { ConfigError } from '../../runtime/errors.js';

/** The scope a token must carry to use the admin API. */
export const ADMIN_SCOPE = 'recstream:admin';

/** Seconds of clock skew allowed on `exp` and `nbf` between the token's issuer and this host. */
const CLOCK_TOLERANCE_S = 5;
/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const MIN_SECRET_BYTES = 32;

/** The configuration this reads: `RECSTREAM_JWT_SECRET`, `RECSTREAM_JWT_PUBLIC_KEY`. */
export interface AdminAuthConfig {
  readonly jwtSecret?: string | undefined;
  readonly jwtPublicKey?: string | undefined;
}

/** The caller of an accepted request. */
export interface AdminPrincipal {
  /** The token's `sub`, for the audit log. */
  readonly subject: string | undefined;
  readonly claims: JWTPayload;
}

export type AdminAuthCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'ADMIN_DISABLED';

/** Why a request is refused, as the HTTP reply it becomes. */
export interface AdminDenial {
  readonly status: 401 | 403 | 404;
  readonly code: AdminAuthCode;
  readonly error: string;
  /** For 401: which check failed (see the module comment). */
  readonly reason?: string;
  /** The `WWW-Authenticate` header value, for 401 and 403. */
  readonly challenge?: string;
}

export type AdminAuthResult =
  | { readonly ok: true; readonly principal: AdminPrincipal }
  | { readonly ok: false; readonly denial: AdminDenial };

const DISABLED: AdminDenial = {
  status: 404,
  code: 'ADMIN_DISABLED',
  error: 'admin API off: set RECSTREAM_JWT_SECRET or RECSTREAM_JWT_PUBLIC_KEY',
};

export class AdminAuth {
  private constructor(private readonly keys: ReadonlyMap<string, Uint8Array | CryptoKey>) {}

  /**
   * Builds the checker from the configuration. Throws ConfigError, naming
   * the variable, for a secret shorter than 32 bytes or a public key that is
   * not an RSA or EC P-256 PEM.
   */
  static async fromConfig(config: AdminAuthConfig): Promise<AdminAuth> {
    const keys = new Map<string, Uint8Array | CryptoKey>();
    if (config.jwtSecret !== undefined) {
      const secret = new TextEncoder().encode(config.jwtSecret);
      if (secret.length < MIN_SECRET_BYTES)
        throw new ConfigError(
          `RECSTREAM_JWT_SECRET is ${secret.length} bytes; HS256 needs at least ${MIN_SECRET_BYTES} (e.g. openssl rand -hex 32)`,
        );
      keys.set('HS256', secret);
    }
    if (config.jwtPublicKey !== undefined) {
      const pem = config.jwtPublicKey.replaceAll('\\n', '\n');
      const alg = algorithmOf(pem);
      keys.set(alg, await importSPKI(pem, alg));
    }
    return new AdminAuth(keys);
  }

  /** False when neither a secret nor a public key is configured: every request gets 404 ADMIN_DISABLED. */
  get enabled(): boolean {
    return this.keys.size > 0;
  }

  /** The JWS algorithms a token may be signed with. */
  get algorithms(): readonly string[] {
    return [...this.keys.keys()];
  }

  /** Checks an `Authorization` header value; never throws for a bad token, only for a bug. */
  async authenticate(authorization: string | undefined): Promise<AdminAuthResult> {
    if (!this.enabled) return { ok: false, denial: DISABLED };
    if (authorization === undefined || authorization.trim() === '')
      return unauthenticated('missing', 'no Authorization header; send Authorization: Bearer <jwt>');
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization);
    if (!match) return unauthenticated('not_bearer', 'the Authorization header must be Bearer <jwt>');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1]!, (header) => this.keyFor(header.alg), {
        algorithms: [...this.keys.keys()],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      if (!(err instanceof errors.JOSEError)) throw err;
      const [reason, why] = describeJoseError(err, this.algorithms);
      return unauthenticated(reason, `invalid bearer token: ${why}`);
    }
    if (!scopesOf(payload).includes(ADMIN_SCOPE))
      return {
        ok: false,
        denial: {
          status: 403,
          code: 'FORBIDDEN',
          error: `the token's scope claim lacks ${ADMIN_SCOPE}`,
          challenge: `Bearer error="insufficient_scope", scope="${ADMIN_SCOPE}"`,
        },
      };
    return { ok: true, principal: { subject: payload.sub, claims: payload } };
  }

  private keyFor(alg: string | undefined): Uint8Array | CryptoKey {
    const key = alg === undefined ? undefined : this.keys.get(alg);
    // jose checks `algorithms` before asking for the key; this covers a header it let through anyway.
    if (!key) throw new errors.JOSEAlgNotAllowed(`alg ${String(alg)} is not accepted`);
    return key;
  }
}

/** The JWS algorithm a PEM public key is used with: RS256 (RSA) or ES256 (EC P-256). */
function algorithmOf(pem: string): 'RS256' | 'ES256' {
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new ConfigError(
      `RECSTREAM_JWT_PUBLIC_KEY is not a PEM public key (-----BEGIN PUBLIC KEY-----): ${(err as Error).message}`,
    );
  }
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new ConfigError(
    `RECSTREAM_JWT_PUBLIC_KEY is a ${key.asymmetricKeyType ?? 'unknown'}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''} key; use an RSA key (RS256) or an EC P-256 key (ES256)`,
  );
}

function scopesOf(payload: JWTPayload): string[] {
  const scope = payload.scope;
  if (typeof scope === 'string') return scope.split(' ');
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === 'string');
  return [];
}

function describeJoseError(
  err: errors.JOSEError,
  algorithms: readonly string[],
): [reason: string, why: string] {
  if (err instanceof errors.JWTExpired) return ['expired', 'expired (exp has passed)'];
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return ['not_yet_valid', 'not valid yet (nbf is in the future)'];
    return ['invalid_claims', `claim ${err.claim}: ${err.message}`];
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return ['bad_signature', 'the signature does not verify with the configured secret or key'];
  if (err instanceof errors.JOSEAlgNotAllowed)
    return ['algorithm_not_allowed', `signed with an algorithm other than ${algorithms.join(', ')}`];
  return ['malformed', `not a signed JWT (${err.message})`];
}

function unauthenticated(reason: string, error: string): AdminAuthResult {
  // RFC 6750 §3.1: no error attribute when the request carried no credentials at all.
  const challenge =
    reason === 'missing' || reason === 'not_bearer'
      ? 'Bearer realm="recstream-admin"'
      : `Bearer realm="recstream-admin", error="invalid_token", error_description="${reason}"`;
  return { ok: false, denial: { status: 401, code: 'UNAUTHENTICATED', error, reason, challenge } };
}
