/**
 * The tracing span of one `POST /v1/events` request: it continues the
 * request's `traceparent` header (unless the host's HTTP instrumentation
 * made a span already), is active while the batch is accepted, so every
 * record appended carries its context, and records the batch's counts or
 * failure.
 *
 * @example
 * ```ts
 * const result = await inIngestSpan(events.length, request.headers, () => acceptBatch(events));
 * ```
 */
import { context, SpanKind, trace } from '@opentelemetry/api';
import { contextFromHeaders, recordFailure, tracer } from '../../runtime/observability/tracing.js';
import type { IngestResult } from './ingest-result.js';

/** A request's HTTP headers, as the server hands them over. */
export type HttpHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Runs `accept` for a batch of `events` records inside the request's span. */
export async function inIngestSpan(
  events: number,
  httpHeaders: HttpHeaders | undefined,
  accept: () => Promise<IngestResult>,
): Promise<IngestResult> {
  const active = context.active();
  // A span made by the host's HTTP instrumentation wins over the header it already continued.
  const parent =
    httpHeaders === undefined || trace.getSpan(active) !== undefined
      ? active
      : contextFromHeaders(httpHeaders, active);
  const span = tracer().startSpan(
    'POST /v1/events',
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/v1/events',
        'recstream.events': events,
      },
    },
    parent,
  );
  try {
    const result = await context.with(trace.setSpan(parent, span), accept);
    span.setAttributes({
      'recstream.accepted': result.accepted,
      'recstream.duplicates': result.duplicates,
      'recstream.refused': result.refused.length,
    });
    return result;
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}
