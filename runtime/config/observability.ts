/**
 * Settings of what the processes say about themselves: tracing (OTLP
 * endpoints, service name, sampling) and logs (level, the key that hashes
 * user ids); and the check of that key at start.
 *
 * @example
 * ```ts
 * OBSERVABILITY_SETTINGS.logLevel.default; // 'info'
 * ```
 */
import { ConfigError } from '../errors.js';
import { logHashKeyProblem } from '../observability/user-hash.js';
import type { Setting, ValuesOf } from './setting.js';

/** Tracing and logging settings. */
export const OBSERVABILITY_SETTINGS = {
  otlpEndpoint: {
    env: 'RECSTREAM_OTLP_ENDPOINT',
    kind: 'url',
    default: undefined,
    doc: 'OpenTelemetry collector (OTLP/HTTP) base URL, e.g. http://127.0.0.1:4318, that traces are sent to (/v1/traces appended); wins over the OTEL_EXPORTER_OTLP_* variables. Tracing is off when none of the three is set',
  },
  otelTracesEndpoint: {
    env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    kind: 'url',
    default: undefined,
    doc: "OpenTelemetry's standard variable: the full OTLP/HTTP traces URL, used as is (e.g. http://collector:4318/v1/traces); wins over OTEL_EXPORTER_OTLP_ENDPOINT",
  },
  otelEndpoint: {
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    kind: 'url',
    default: undefined,
    doc: "OpenTelemetry's standard variable: the collector's OTLP/HTTP base URL (e.g. http://collector:4318), traces going to its /v1/traces",
  },
  otelServiceName: {
    env: 'OTEL_SERVICE_NAME',
    kind: 'string',
    default: 'recstream',
    doc: 'service.name of the spans recstream sends',
  },
  traceSampleRatio: {
    env: 'RECSTREAM_TRACE_SAMPLE_RATIO',
    kind: 'float',
    min: 0,
    max: 1,
    default: 1,
    doc: 'share of new traces recorded when tracing is on; a continued trace follows its traceparent',
  },
  logLevel: {
    env: 'RECSTREAM_LOG_LEVEL',
    kind: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    doc: 'pino log level',
  },
  logHashKey: {
    env: 'RECSTREAM_LOG_HASH_KEY',
    kind: 'string',
    default: undefined,
    doc: 'key of the HMAC that hashes user ids in logs and dead-letter messages: at least 32 characters, no white space (openssl rand -hex 32); set the same key on every process to correlate a user across them; unset: a random key per process',
  },
} as const satisfies Record<string, Setting>;

/** A log hash key is checked at start, not at the first hashed id. */
export function checkLogHashKey(config: ValuesOf<typeof OBSERVABILITY_SETTINGS>): void {
  if (config.logHashKey === undefined) return;
  const problem = logHashKeyProblem(config.logHashKey);
  if (problem !== undefined) throw new ConfigError(problem);
}
