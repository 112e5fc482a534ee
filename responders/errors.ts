/**
 * The errors the responder raises on purpose about who may call it (the
 * kafkajs way: a stable `code`, a `retriable` flag), each with the HTTP
 * status it is answered with. None is retriable: the same request with the
 * same credentials gets the same answer.
 *
 * @example
 * ```ts
 * try { principal = await authenticator.authenticate(request.headers.authorization); }
 * catch (err) { if (err instanceof UnauthenticatedError) reply.code(err.status).send({ error: err.message, code: err.code, reason: err.reason }); }
 * ```
 */
import { RecstreamError } from '../runtime/errors.js';

/**
 * Which check a refused credential failed: `missing` (none sent),
 * `unsupported_scheme` (neither Bearer nor ApiKey, or a scheme this
 * responder has no key for), `malformed`, `bad_signature`,
 * `algorithm_not_allowed`, `expired`, `not_yet_valid`, `invalid_claims`
 * (e.g. no `exp`), `unknown_api_key`.
 */
export type UnauthenticatedReason =
  | 'missing'
  | 'unsupported_scheme'
  | 'malformed'
  | 'bad_signature'
  | 'algorithm_not_allowed'
  | 'expired'
  | 'not_yet_valid'
  | 'invalid_claims'
  | 'unknown_api_key';

/** 401: no credentials, or credentials that do not verify. */
export class UnauthenticatedError extends RecstreamError {
  readonly status = 401;
  readonly reason: UnauthenticatedReason;

  constructor(message: string, reason: UnauthenticatedReason) {
    super(message, { code: 'UNAUTHENTICATED' });
    this.reason = reason;
  }
}

/** 403: valid credentials without the scope the route needs. */
export class ForbiddenError extends RecstreamError {
  readonly status = 403;
  /** The scope the route needs. */
  readonly scope: string;

  constructor(message: string, scope: string) {
    super(message, { code: 'FORBIDDEN' });
    this.scope = scope;
  }
}

/** 404: the admin API is off because no credential of any kind is configured. */
export class AdminDisabledError extends RecstreamError {
  readonly status = 404;

  constructor() {
    super('admin API off: set RECSTREAM_JWT_SECRET, RECSTREAM_JWT_PUBLIC_KEY or RECSTREAM_API_KEYS', {
      code: 'ADMIN_DISABLED',
    });
  }
}

/**
 * The responder would listen on a non-loopback address with its data
 * endpoints open to anyone; raised at start, before it listens.
 */
export class DataEndpointsOpenError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'DATA_ENDPOINTS_OPEN' });
  }
}

/**
 * A responder refused a model/index pair: the index was built for another
 * model version, or a manifest does not describe what its event says. The
 * responder keeps serving what it had.
 */
export class LineageMismatchError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'LINEAGE_MISMATCH' });
  }
}

/** A retrain was asked for (`POST /admin/retrain`) while the one started at `startedTs` still runs. */
export class RetrainRunningError extends RecstreamError {
  constructor(readonly startedTs: number) {
    super(
      `a retrain started at ${new Date(startedTs).toISOString()} is still running; wait for it to finish`,
      {
        code: 'RETRAIN_RUNNING',
      },
    );
  }
}

/** A service cannot take requests yet or for now (starting up, rebuilding an index); retry shortly. */
export class UnavailableError extends RecstreamError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'SERVICE_UNAVAILABLE', cause, retriable: true });
  }
}
