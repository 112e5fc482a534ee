/**
 * Who is calling the responder: one check for every protected route, over
 * two kinds of credentials, each granting scopes (`events:write`,
 * `users:read`, `admin`; see runtime/http-access.ts).
 *
 * **Bearer JWTs** (`Authorization: Bearer <jwt>`), verified with `jose`:
 * - `RECSTREAM_JWT_SECRET` → HS256 with the secret's UTF-8 bytes; at least
 *   32 bytes (RFC 7518 §3.2: an HS256 key must not be shorter than the hash).
 * - `RECSTREAM_JWT_PUBLIC_KEY` → a PEM SPKI public key: RS256 for an RSA key,
 *   ES256 for an EC P-256 key. Literal `\n` sequences are read as line
 *   breaks, so the PEM fits on one environment-variable line.
 * - Both set: either kind of token is accepted, each only with its own
 *   algorithm (the algorithm list is pinned; `none` and the other family
 *   are refused).
 *
 * A token is accepted when its signature verifies with an allowed
 * algorithm, it has an `exp` claim that has not passed, and its `nbf`, when
 * present, has passed (5 s clock tolerance on both). Its scopes are its
 * `scope` claim as OAuth 2 issuers write it (RFC 8693 §4.2: a
 * space-separated string), or an array of strings; `recstream:admin`, the
 * admin scope's earlier name, still counts as `admin`. `iss` and `aud` are
 * not checked: whoever holds the secret or the private key is trusted to
 * mint tokens.
 *
 * **API keys** (`Authorization: ApiKey <key>`) from `RECSTREAM_API_KEYS`,
 * which holds each key's name, scopes and sha256, never the key: the sha256
 * of the key sent is compared with every configured one in constant time.
 *
 * Refusals are UnauthenticatedError (401) with a `reason`: see
 * ../errors.ts.
 *
 * @example
 * ```ts
 * const auth = await Authenticator.fromConfig(platform.config);
 * const principal = await auth.authenticate(request.headers.authorization); // undefined: no credentials sent
 * principal?.scopes.has('users:read');
 * // minting a token it accepts (HS256):
 * const token = await new SignJWT({ scope: 'users:read admin' }).setProtectedHeader({ alg: 'HS256' })
 *   .setSubject('ops@example.com').setExpirationTime('15m').sign(new TextEncoder().encode(secret));
 * ```
 */
import { createHash, createPublicKey, timingSafeEqual } from 'node:crypto';
import { type CryptoKey, errors, importSPKI, type JWTPayload, jwtVerify } from 'jose';
import { ConfigError } from '../../runtime/errors.js';
import { type ApiKeyEntry, SCOPES, type Scope } from '../../runtime/http-access.js';
import { UnauthenticatedError, type UnauthenticatedReason } from '../errors.js';

/** The admin scope's name before scopes were shared by every route; tokens minted with it keep working. */
const LEGACY_ADMIN_SCOPE = 'recstream:admin';
/** Seconds of clock skew allowed on `exp` and `nbf` between the token's issuer and this host. */
const CLOCK_TOLERANCE_S = 5;
/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const MIN_SECRET_BYTES = 32;

/** The configuration this reads: `RECSTREAM_JWT_SECRET`, `RECSTREAM_JWT_PUBLIC_KEY`, `RECSTREAM_API_KEYS`. */
export interface AuthConfig {
  readonly jwtSecret?: string | undefined;
  readonly jwtPublicKey?: string | undefined;
  readonly apiKeys?: readonly ApiKeyEntry[] | undefined;
}

/** The caller of an accepted request. */
export interface Principal {
  readonly kind: 'jwt' | 'api-key';
  /** The token's `sub` (undefined when it has none), or the API key's name: for audit logs. */
  readonly subject: string | undefined;
  readonly scopes: ReadonlySet<Scope>;
  /** The rate-limit counter it is charged to: `jwt:<sub>` or `key:<name>`; undefined for a token without `sub`. */
  readonly rateLimitKey: string | undefined;
}

interface StoredKey {
  readonly entry: ApiKeyEntry;
  readonly digest: Buffer;
}

export class Authenticator {
  private constructor(
    private readonly jwtKeys: ReadonlyMap<string, CryptoKey>,
    private readonly apiKeys: readonly StoredKey[],
  ) {}

  /**
   * Builds the checker from the configuration. Throws ConfigError, naming
   * the variable, for a secret shorter than 32 bytes or a public key that is
   * not an RSA or EC P-256 PEM.
   */
  static async fromConfig(config: AuthConfig): Promise<Authenticator> {
    const keys = new Map<string, CryptoKey>();
    if (config.jwtSecret !== undefined) {
      const secret = new TextEncoder().encode(config.jwtSecret);
      if (secret.length < MIN_SECRET_BYTES)
        throw new ConfigError(
          `RECSTREAM_JWT_SECRET is ${secret.length} bytes; HS256 needs at least ${MIN_SECRET_BYTES} (e.g. openssl rand -hex 32)`,
        );
      // Imported once: given raw bytes, jose imports the key again on every verification.
      keys.set(
        'HS256',
        await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
      );
    }
    if (config.jwtPublicKey !== undefined) {
      const pem = config.jwtPublicKey.replaceAll('\\n', '\n');
      const alg = algorithmOf(pem);
      keys.set(alg, await importSPKI(pem, alg));
    }
    const apiKeys = (config.apiKeys ?? []).map((entry) => ({
      entry,
      digest: Buffer.from(entry.sha256, 'hex'),
    }));
    return new Authenticator(keys, apiKeys);
  }

  /** False when no secret, public key or API key is configured: no credential can be accepted. */
  get configured(): boolean {
    return this.jwtKeys.size > 0 || this.apiKeys.length > 0;
  }

  /** The JWS algorithms a token may be signed with. */
  get algorithms(): readonly string[] {
    return [...this.jwtKeys.keys()];
  }

  /** What is accepted, for the start-up line: e.g. `JWTs (HS256), 2 API keys`. */
  describe(): string {
    const parts: string[] = [];
    if (this.jwtKeys.size > 0) parts.push(`bearer JWTs (${this.algorithms.join(', ')})`);
    if (this.apiKeys.length > 0)
      parts.push(`${this.apiKeys.length} API key${this.apiKeys.length === 1 ? '' : 's'}`);
    return parts.length === 0 ? 'no credentials' : parts.join(' and ');
  }

  /**
   * Checks an `Authorization` header value: undefined when none was sent,
   * the principal when it verifies, UnauthenticatedError otherwise. Throws
   * nothing else but a bug.
   */
  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    if (authorization === undefined || authorization.trim() === '') return undefined;
    const match = /^([A-Za-z]+)[ \t]+([^\s]+)[ \t]*$/.exec(authorization);
    const scheme = match?.[1]?.toLowerCase();
    if (scheme === 'bearer' && this.jwtKeys.size > 0) return this.verifyJwt(match![2]!);
    if (scheme === 'apikey' && this.apiKeys.length > 0) return this.verifyApiKey(match![2]!);
    throw new UnauthenticatedError(
      `the Authorization header must be ${this.accepted()}`,
      match === null ? 'malformed' : 'unsupported_scheme',
    );
  }

  /** The header forms this responder takes, for error messages. */
  accepted(): string {
    const forms: string[] = [];
    if (this.jwtKeys.size > 0) forms.push('Bearer <jwt>');
    if (this.apiKeys.length > 0) forms.push('ApiKey <key>');
    return forms.join(' or ');
  }

  private async verifyJwt(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.keyFor(header.alg), {
        algorithms: this.algorithms as string[],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      if (!(err instanceof errors.JOSEError)) throw err;
      const [reason, why] = describeJoseError(err, this.algorithms);
      throw new UnauthenticatedError(`invalid bearer token: ${why}`, reason);
    }
    const subject = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
    return {
      kind: 'jwt',
      subject,
      scopes: scopesOf(payload),
      rateLimitKey: subject === undefined ? undefined : `jwt:${subject}`,
    };
  }

  private verifyApiKey(key: string): Principal {
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let found: ApiKeyEntry | undefined;
    // Every entry is compared, so the time taken says nothing about which one (if any) matched.
    for (const stored of this.apiKeys) if (timingSafeEqual(digest, stored.digest)) found = stored.entry;
    if (found === undefined)
      throw new UnauthenticatedError('the API key is not one of RECSTREAM_API_KEYS', 'unknown_api_key');
    return {
      kind: 'api-key',
      subject: found.name,
      scopes: new Set(found.scopes),
      rateLimitKey: `key:${found.name}`,
    };
  }

  private keyFor(alg: string | undefined): CryptoKey {
    const key = alg === undefined ? undefined : this.jwtKeys.get(alg);
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

/** The token's known scopes; unknown ones (an issuer's `openid`, …) are left out. */
function scopesOf(payload: JWTPayload): ReadonlySet<Scope> {
  const scope = payload.scope;
  const names =
    typeof scope === 'string'
      ? scope.split(' ')
      : Array.isArray(scope)
        ? scope.filter((s): s is string => typeof s === 'string')
        : [];
  const out = new Set<Scope>();
  for (const name of names) {
    if (name === LEGACY_ADMIN_SCOPE) out.add('admin');
    else if ((SCOPES as readonly string[]).includes(name)) out.add(name as Scope);
  }
  return out;
}

function describeJoseError(
  err: errors.JOSEError,
  algorithms: readonly string[],
): [reason: UnauthenticatedReason, why: string] {
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
