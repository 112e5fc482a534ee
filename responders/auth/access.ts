/**
 * Access control for the responder's routes: one hook on every request
 * reads its credentials (`request.principal`, for the routes and the rate
 * limit), and per-route guards ask for a scope:
 *
 * | route | scope |
 * |---|---|
 * | `GET /v1/recommendations/:userId` | `recommendations:read` |
 * | `POST /v1/events` | `events:write` |
 * | `GET /v1/users/:userId/history` | `users:read` |
 * | `POST /admin/*` | `admin` |
 *
 * A guard lets a request through when its credentials carry the scope.
 * Otherwise it answers JSON `{ error, code, reason? }`:
 * - 401 `UNAUTHENTICATED` (with `WWW-Authenticate`): no credentials, or
 *   ones that do not verify; `reason` says which check failed.
 * - 403 `FORBIDDEN`: valid credentials without the scope; `scope` names it.
 * - 404 `ADMIN_DISABLED` for `admin` when no credential of any kind is
 *   configured.
 *
 * **Open mode** (`open: true`, the responder's choice when no credential is
 * configured and it listens on loopback or is told to: see ./exposure.ts):
 * the `recommendations:read`, `events:write` and `users:read` guards let
 * everyone through. The admin API is never open.
 *
 * Credentials are read on every request (a bad token on a route that needs
 * none is ignored there, not refused), before the rate limit, so that the
 * limit counts per subject.
 *
 * @example
 * ```ts
 * const access = new AccessPolicy(await Authenticator.fromConfig(config), false);
 * await app.register(access.plugin);                       // before the rate limit
 * app.post('/v1/events', { onRequest: access.require('events:write') }, handler);
 * ```
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Scope } from '../../runtime/http-access.js';
import { AdminDisabledError, ForbiddenError, UnauthenticatedError } from '../errors.js';
import type { Authenticator, Principal } from './authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller; undefined without credentials (or with refused ones: see `authError`). */
    principal: Principal | undefined;
    /** Why the credentials sent were refused. */
    authError: UnauthenticatedError | undefined;
  }
}

const REALM = 'recstream';

export class AccessPolicy {
  /** The fastify plugin that reads every request's credentials; not encapsulated. */
  readonly plugin: FastifyPluginAsync;

  /**
   * `authenticator` undefined or not configured: no credential can be
   * accepted. `open`: whether data routes answer without credentials.
   */
  constructor(
    readonly authenticator: Authenticator | undefined,
    readonly open: boolean,
  ) {
    this.plugin = this.readCredentials();
  }

  /** Whether any credential can be accepted (the admin API is on). */
  get configured(): boolean {
    return this.authenticator?.configured ?? false;
  }

  private readCredentials(): FastifyPluginAsync {
    const authenticator = this.authenticator?.configured ? this.authenticator : undefined;
    return fp(
      async (app) => {
        app.decorateRequest('principal', undefined);
        app.decorateRequest('authError', undefined);
        if (authenticator === undefined) return;
        app.addHook('onRequest', async (request) => {
          try {
            request.principal = await authenticator.authenticate(request.headers.authorization);
          } catch (error) {
            if (!(error instanceof UnauthenticatedError)) throw error;
            request.authError = error;
          }
        });
      },
      { name: 'recstream-access', fastify: '5.x' },
    );
  }

  /** An onRequest hook that answers 401 / 403 / 404 unless the request may use `scope`. */
  require(scope: Scope): onRequestAsyncHookHandler {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const refusal = this.refusal(request, scope);
      if (refusal === undefined) return;
      // RFC 6750's error attributes belong to the Bearer scheme; with API keys only, the challenge names ApiKey.
      const bearer = this.authenticator === undefined || this.authenticator.algorithms.length > 0;
      if (refusal instanceof UnauthenticatedError) {
        const plain = refusal.reason === 'missing' || refusal.reason === 'unsupported_scheme' || !bearer;
        reply.header(
          'www-authenticate',
          plain
            ? `${bearer ? 'Bearer' : 'ApiKey'} realm="${REALM}"`
            : `Bearer realm="${REALM}", error="invalid_token", error_description="${refusal.reason}"`,
        );
        return reply.code(401).send({ error: refusal.message, code: refusal.code, reason: refusal.reason });
      }
      if (refusal instanceof ForbiddenError) {
        reply.header(
          'www-authenticate',
          bearer
            ? `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`
            : `ApiKey realm="${REALM}"`,
        );
        return reply.code(403).send({ error: refusal.message, code: refusal.code, scope: refusal.scope });
      }
      return reply.code(refusal.status).send({ error: refusal.message, code: refusal.code });
    };
  }

  /** Why `request` may not use `scope`; undefined when it may. */
  private refusal(
    request: Pick<FastifyRequest, 'principal' | 'authError'>,
    scope: Scope,
  ): UnauthenticatedError | ForbiddenError | AdminDisabledError | undefined {
    const { principal, authError } = request;
    if (principal?.scopes.has(scope)) return undefined;
    if (scope === 'admin' && !this.configured) return new AdminDisabledError();
    if (this.open && scope !== 'admin') return undefined;
    if (authError !== undefined) return authError;
    if (principal !== undefined) {
      const who = principal.kind === 'api-key' ? `API key ${principal.subject}` : 'the bearer token';
      const held = [...principal.scopes];
      return new ForbiddenError(
        `${who} lacks the scope ${scope} (it carries ${held.length === 0 ? 'no recstream scope' : held.join(', ')})`,
        scope,
      );
    }
    if (!this.configured)
      return new UnauthenticatedError(
        `credentials with the scope ${scope} are needed and none are configured: set RECSTREAM_JWT_SECRET, RECSTREAM_JWT_PUBLIC_KEY or RECSTREAM_API_KEYS`,
        'missing',
      );
    return new UnauthenticatedError(
      `credentials with the scope ${scope} are needed: send Authorization: ${this.authenticator!.accepted()}`,
      'missing',
    );
  }
}
