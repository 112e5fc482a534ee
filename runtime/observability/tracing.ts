/**
 * OpenTelemetry tracing: spans for HTTP ingest, producers,
 * each traced record a processor handles, recommendation requests and
 * training rounds, tied into one trace by the W3C `traceparent` /
 * `tracestate` headers carried in record headers.
 *
 * Off unless an OTLP endpoint is configured — `RECSTREAM_OTLP_ENDPOINT`, or
 * OpenTelemetry's own `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
 * `OTEL_EXPORTER_OTLP_ENDPOINT` that deployments usually set (see
 * `otlpTracesUrl`) — or the host application
 * registered its own OpenTelemetry SDK before creating producers and
 * runners): then no SDK is loaded, only the no-op API, and the hot paths
 * check one boolean captured when the producer, task or ingest was created,
 * without looking at headers.
 *
 * @example
 * ```ts
 * await startTracingFromConfig(config);            // no-op when no OTLP endpoint is configured
 * if (tracingActive()) {
 *   const span = tracer().startSpan('work', {}, contextFromHeaders(record.headers));
 *   const headers = withTraceHeaders(undefined, traceHeadersOf(trace.setSpan(ROOT_CONTEXT, span)));
 *   span.end();
 * }
 * await stopTracing();                              // flushes and unregisters
 * ```
 */
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanOptions,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../config.js';
import type { RecordHeaders } from '../log/log.js';

export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';
const TRACER_NAME = 'recstream';

/** Headers as HTTP or the log carries them. */
type Carrier = Readonly<Record<string, string | readonly string[] | undefined>>;

const getter: TextMapGetter<Carrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key] as string | string[] | undefined,
};
const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};
const w3c = new W3CTraceContextPropagator();

let active = false;
let started: { shutdown(): Promise<void>; forceFlush(): Promise<void> } | undefined;

/**
 * Re-reads whether a tracer provider is registered globally (ours or the
 * host application's). Producers, tasks and ingest call it once when they
 * are created; per record they read the boolean they got.
 */
export function refreshTracing(): boolean {
  const provider = trace.getTracerProvider() as { getDelegateTracer?: (name: string) => unknown };
  active =
    typeof provider.getDelegateTracer === 'function'
      ? provider.getDelegateTracer(TRACER_NAME) !== undefined
      : true;
  return active;
}

/** Whether spans are being made (as of the last `refreshTracing`). */
export function tracingActive(): boolean {
  return active;
}

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

export interface TracingOptions {
  /** OTLP/HTTP collector base URL (`/v1/traces` is appended unless the path already ends with it). */
  readonly endpoint?: string | undefined;
  /** Share of new traces sampled (0..1); a trace continued from a `traceparent` follows its sampled flag. Default 1. */
  readonly sampleRatio?: number | undefined;
  /** Instead of OTLP (tests, benchmarks): e.g. `InMemorySpanExporter`. */
  readonly exporter?: SpanExporter;
  /** Export each span as it ends instead of in batches (tests). Default false. */
  readonly simple?: boolean;
  /** Default `OTEL_SERVICE_NAME`, else `recstream`. */
  readonly serviceName?: string;
}

/**
 * Starts the SDK (loaded only now) and registers it globally with W3C
 * propagation and an AsyncLocalStorage context manager. Returns false and
 * does nothing without an endpoint or exporter; true if it is running
 * (a second call while started is a no-op).
 */
export async function startTracing(options: TracingOptions): Promise<boolean> {
  if (started !== undefined) return true;
  if (options.exporter === undefined && options.endpoint === undefined) return false;
  const [sdk, hooks, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/resources'),
  ]);
  let exporter = options.exporter;
  if (exporter === undefined) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    exporter = new OTLPTraceExporter({ url: tracesUrl(options.endpoint!) });
  }
  const processor = options.simple
    ? new sdk.SimpleSpanProcessor(exporter)
    : new sdk.BatchSpanProcessor(exporter);
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'recstream',
    }),
    sampler: new sdk.ParentBasedSampler({
      root: new sdk.TraceIdRatioBasedSampler(options.sampleRatio ?? 1),
    }),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(w3c);
  trace.setGlobalTracerProvider(provider);
  started = provider;
  refreshTracing();
  return true;
}

/**
 * The OTLP/HTTP traces URL the configuration names, or undefined (tracing
 * off). `RECSTREAM_OTLP_ENDPOINT` wins; else OpenTelemetry's standard
 * variables as the specification reads them: the signal-specific
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else the base
 * `OTEL_EXPORTER_OTLP_ENDPOINT` plus `/v1/traces`.
 *
 * @example
 * ```ts
 * otlpTracesUrl(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318' }));
 * // 'http://otel-collector:4318/v1/traces'
 * ```
 */
export function otlpTracesUrl(config: Config): string | undefined {
  if (config.otlpEndpoint !== undefined) return tracesUrl(config.otlpEndpoint);
  if (config.otelTracesEndpoint !== undefined) return new URL(config.otelTracesEndpoint).toString();
  if (config.otelEndpoint !== undefined) return tracesUrl(config.otelEndpoint);
  return undefined;
}

/** `startTracing` from the configured endpoint (`otlpTracesUrl`), sample ratio and service name. */
export function startTracingFromConfig(config: Config): Promise<boolean> {
  return startTracing({
    endpoint: otlpTracesUrl(config),
    sampleRatio: config.traceSampleRatio,
    serviceName: config.otelServiceName,
  });
}

/** Exports the spans ended so far (e.g. before a command exits), waiting at most `timeoutMs` for the collector. */
export async function flushTracing(timeoutMs = 2000): Promise<void> {
  if (started === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([started.forceFlush().catch(() => {}), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Flushes, shuts the SDK down and unregisters it: back to the no-op API. */
export async function stopTracing(): Promise<void> {
  const provider = started;
  started = undefined;
  if (provider !== undefined) await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
  refreshTracing();
}

/** The collector's OTLP/HTTP traces URL from a base URL (like `OTEL_EXPORTER_OTLP_ENDPOINT`). */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

/** The context a `traceparent` (and `tracestate`) in record or HTTP headers continues, over `base`. */
export function contextFromHeaders(headers: Carrier, base: Context = ROOT_CONTEXT): Context {
  return w3c.extract(base, headers, getter);
}

/** `traceparent` / `tracestate` for the span in `ctx`; undefined when it holds no valid span. */
export function traceHeadersOf(ctx: Context): RecordHeaders | undefined {
  const out: Record<string, string> = {};
  w3c.inject(ctx, out, setter);
  return out[TRACEPARENT] === undefined ? undefined : out;
}

/** The trace headers of `span`. */
export function spanHeaders(span: Span): RecordHeaders | undefined {
  return traceHeadersOf(trace.setSpan(ROOT_CONTEXT, span));
}

/** The trace headers of the active span (producers called under a span); undefined when none. */
export function activeTraceHeaders(): RecordHeaders | undefined {
  const ctx = context.active();
  return trace.getSpan(ctx) === undefined ? undefined : traceHeadersOf(ctx);
}

/** `headers` with their trace headers replaced by `traced` (unchanged when `traced` is undefined). */
export function withTraceHeaders(
  headers: RecordHeaders | undefined,
  traced: RecordHeaders | undefined,
): RecordHeaders | undefined {
  if (traced === undefined) return headers;
  if (headers === undefined) return traced;
  const out: Record<string, string> = {};
  for (const key in headers) if (key !== TRACEPARENT && key !== TRACESTATE) out[key] = headers[key]!;
  return Object.assign(out, traced);
}

/**
 * Runs `fn` in a span `name`, active for what it calls: a child of the
 * active span, else of the `traceparent` in `headers` (HTTP or record
 * headers), else a new trace. With tracing off, `fn(undefined)` only.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  headers: Carrier | undefined,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!active) return fn(undefined);
  const current = context.active();
  const parent =
    headers === undefined || trace.getSpan(current) !== undefined
      ? current
      : contextFromHeaders(headers, current);
  const span = tracer().startSpan(name, options, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** An event on the active span (a stage of a request), when tracing is on. */
export function spanEvent(name: string, attributes?: Attributes): void {
  if (active) trace.getActiveSpan()?.addEvent(name, attributes);
}

/** Marks `span` failed with `error`. */
export function recordFailure(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
