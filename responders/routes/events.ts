/**
 * `POST /v1/events`: a batch of `Interaction`s as JSON — an
 * array, or `{ "events": [...] }` — at most 1000 per request.
 *
 * Replies:
 * - `202 { accepted, duplicates }`: every record is in the log (`accepted`
 *   appended now, `duplicates` had been accepted before with the same content).
 * - `400 { error, code: 'INVALID_EVENTS', accepted, duplicates, refused: [{ index, event_id, errors: [{ field, reason }] }] }`:
 *   some records were refused. **The valid records of the batch were
 *   accepted anyway**; fixing the refused ones and resending the whole batch
 *   is safe, since the accepted ones come back as duplicates.
 * - `400` / `413` / `415` for the body as a whole (`INVALID_JSON`,
 *   `INVALID_UTF8`, `INVALID_BATCH`, `BODY_TOO_LARGE`, `TOO_MANY_EVENTS`,
 *   `UNSUPPORTED_MEDIA_TYPE`): nothing was accepted.
 * - `429` (too many events in flight) / `503` (starting, or the log failing)
 *   with `Retry-After`: nothing of the batch is guaranteed; resend it.
 *
 * @example
 * ```ts
 * await app.register(eventsRoutes, { ingest, maxBodyBytes: 1 << 20 });
 * // curl -H 'content-type: application/json' -d '[{"event_id":"e1",...}]' http://127.0.0.1:8080/v1/events
 * ```
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import { BufferFullError, isRetriable, RecstreamError } from '../../runtime/errors.js';
import type { Registry } from '../../runtime/observability/metrics.js';
import type { Ingest } from '../ingest/ingest.js';
import { ingestMetrics } from '../ingest/ingest-metrics.js';
import { BodyError, parseJsonBody } from '../ingest/json-body.js';

/** Most records in one request: larger batches hold the buffer longer than a client should wait. */
export const MAX_EVENTS_PER_REQUEST = 1000;
/** Seconds a client is asked to wait after 429 or 503. */
const RETRY_AFTER_S = 1;

export interface EventsRoutesOptions {
  readonly ingest: Ingest;
  readonly maxBodyBytes: number;
  readonly metrics?: Registry;
}

export const eventsRoutes: FastifyPluginAsync<EventsRoutesOptions> = async (app, options) => {
  const metrics = options.metrics === undefined ? undefined : ingestMetrics(options.metrics);
  // Our own parser, in this plugin's scope only: the default one would let invalid UTF-8 through as
  // U+FFFD. Nothing else is parsed, so text/plain and the like get 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: options.maxBodyBytes },
    (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, code, message } = describeError(error, options.maxBodyBytes);
    // Only when waiting can help: a full disk needs the operator, not a client retry loop.
    if (status === 429 || (status === 503 && isRetriable(error))) {
      reply.header('retry-after', String(RETRY_AFTER_S));
    }
    if (status >= 500) request.log.warn({ err: error, status }, 'POST /v1/events failed');
    return reply.code(status).send({ error: message, code });
  });

  app.addHook('onResponse', async (_request, reply) => {
    metrics?.requests.inc({ status: String(reply.statusCode) });
    metrics?.latency.observe(reply.elapsedTime / 1000);
  });

  app.post('/v1/events', async (request, reply: FastifyReply) => {
    const events = eventsOf(request.body);
    const result = await options.ingest.accept(events, request.headers);
    if (result.refused.length === 0) {
      return reply.code(202).send({ accepted: result.accepted, duplicates: result.duplicates });
    }
    request.log.info(
      {
        refused: result.refused.length,
        of: events.length,
        fields: [...new Set(result.refused.flatMap((r) => r.errors.map((e) => e.field)))].slice(0, 10),
      },
      'events refused',
    );
    return reply.code(400).send({
      error: `${result.refused.length} of ${events.length} events were refused (see refused[].errors); the other ${events.length - result.refused.length} were accepted, so resending the whole batch after fixing them is safe`,
      code: 'INVALID_EVENTS',
      accepted: result.accepted,
      duplicates: result.duplicates,
      refused: result.refused,
    });
  });
};

function eventsOf(body: unknown): readonly unknown[] {
  let events: unknown = body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    events = (body as { events?: unknown }).events;
    const extra = Object.keys(body).filter((k) => k !== 'events');
    if (events === undefined || extra.length > 0) {
      throw new BodyError(
        `the body must be a JSON array of events or {"events": [...]}; got an object with ${extra.length > 0 ? `key(s) ${extra.slice(0, 5).join(', ')}` : 'no "events" key'}`,
        400,
        'INVALID_BATCH',
      );
    }
  }
  if (!Array.isArray(events)) {
    throw new BodyError(
      `the body must be a JSON array of events or {"events": [...]}; got ${events === null ? 'null' : typeof events}`,
      400,
      'INVALID_BATCH',
    );
  }
  if (events.length > MAX_EVENTS_PER_REQUEST) {
    throw new BodyError(
      `${events.length} events in one request; send at most ${MAX_EVENTS_PER_REQUEST} per request`,
      413,
      'TOO_MANY_EVENTS',
    );
  }
  return events;
}

function describeError(
  error: FastifyError | Error,
  maxBodyBytes: number,
): { status: number; code: string; message: string } {
  if (error instanceof BodyError) return { status: error.status, code: error.code, message: error.message };
  if (error instanceof BufferFullError) {
    return {
      status: 429,
      code: error.code,
      message: `too many events in flight; retry after ${RETRY_AFTER_S} s (${error.message})`,
    };
  }
  if (error instanceof RecstreamError) {
    // Retriable: starting up, log or broker unreachable. Not retriable: the operator must act (full disk).
    return {
      status: 503,
      code: error.code,
      message: isRetriable(error)
        ? `events not stored, retry after ${RETRY_AFTER_S} s: ${error.message}`
        : `events not stored: ${error.message}`,
    };
  }
  switch ((error as FastifyError).code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        code: 'BODY_TOO_LARGE',
        message: `the body is larger than ${maxBodyBytes} bytes (RECSTREAM_INGEST_MAX_BODY_BYTES); split the batch`,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'send the events as JSON with Content-Type: application/json',
      };
    default: {
      const status = (error as FastifyError).statusCode;
      if (status !== undefined && status >= 400 && status < 500) {
        return { status, code: (error as FastifyError).code ?? 'BAD_REQUEST', message: error.message };
      }
      return { status: 500, code: 'INTERNAL', message: 'internal error; see the server log' };
    }
  }
}
