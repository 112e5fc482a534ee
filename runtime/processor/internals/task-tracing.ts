/**
 * Tracing of one task, made only when a tracer provider is registered: an
 * input record with a `traceparent` header is processed in a child span
 * `process <processor>`, and the outputs it leads to carry that span's
 * context in their headers. An output whose value embeds a traced input's
 * value (the value itself or one of its direct fields, e.g. the interaction
 * inside an enriched record released later) carries that input's span, any
 * other output the span of the input being processed when it was emitted.
 */
import { type Span, SpanKind } from '@opentelemetry/api';
import type { LogRecord, RecordHeaders } from '../../log/log.js';
import {
  contextFromHeaders,
  recordFailure,
  spanHeaders,
  TRACEPARENT,
  tracer,
  withTraceHeaders,
} from '../../observability/tracing.js';
import type { StreamRecord } from '../processor.js';
import type { Topology } from '../topology.js';

export class TaskTracing {
  /** `process <processor>` span names, by source. */
  private readonly spanNames = new Map<string, string>();
  /** Trace headers of the span processing the current input, and that input's own headers. */
  private currentTrace: RecordHeaders | undefined;
  private currentInputHeaders: RecordHeaders | undefined;
  /** Trace headers by traced input value (and its direct object fields), for outputs emitted later. */
  private lineage: WeakMap<object, RecordHeaders> | undefined;

  constructor(private readonly topology: Topology) {
    for (const s of topology.sources)
      this.spanNames.set(s.name, `process ${topology.children(s.name).join(',') || s.name}`);
  }

  /** A child span of the record's `traceparent`; undefined (and nothing allocated) when it has none. */
  startSpan(sourceName: string, record: LogRecord): Span | undefined {
    const headers = record.headers;
    if (headers === undefined || headers[TRACEPARENT] === undefined) return undefined;
    const span = tracer().startSpan(
      this.spanNames.get(sourceName)!,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'recstream',
          'messaging.operation.type': 'process',
          'messaging.destination.name': record.topic,
          'messaging.destination.partition.id': String(record.partition),
          'messaging.kafka.offset': record.offset,
          'recstream.application': this.topology.applicationId,
        },
      },
      contextFromHeaders(headers),
    );
    this.currentTrace = spanHeaders(span);
    this.currentInputHeaders = headers;
    return span;
  }

  /** Remembers the decoded value of the traced input being processed, for the outputs that embed it later. */
  rememberInput(value: unknown): void {
    this.remember(value, this.currentTrace!);
  }

  /** Marks the span of an input that was dead-lettered, with the node that refused it. */
  failed(span: Span, error: unknown, node: string): void {
    recordFailure(span, error);
    span.setAttribute('recstream.dead_letter_node', node);
  }

  /** Ends the input's span: outputs emitted from now on (punctuations) no longer carry it. */
  endSpan(span: Span): void {
    span.end();
    this.currentTrace = undefined;
    this.currentInputHeaders = undefined;
  }

  /**
   * An output's headers: the trace of the input it embeds, else a trace the
   * processor set itself, else the span processing the current input (a
   * pass-through of the input's own headers gets it too).
   */
  outputHeaders(record: StreamRecord<unknown>): RecordHeaders | undefined {
    const own = record.headers;
    const embedded = this.lineageOf(record.value);
    if (embedded !== undefined) return withTraceHeaders(own, embedded);
    if (own !== undefined && own !== this.currentInputHeaders && own[TRACEPARENT] !== undefined) return own;
    return withTraceHeaders(own, this.currentTrace);
  }

  /** Remembers the trace of a traced input's value and of its direct object fields. */
  private remember(value: unknown, headers: RecordHeaders): void {
    if (value === null || typeof value !== 'object') return;
    this.lineage ??= new WeakMap();
    this.lineage.set(value, headers);
    if (ArrayBuffer.isView(value)) return;
    const fields = value as Record<string, unknown>;
    for (const key in fields) {
      const field = fields[key];
      if (field !== null && typeof field === 'object') this.lineage.set(field, headers);
    }
  }

  /** The trace of the input an output's value embeds, if any was traced. */
  private lineageOf(value: unknown): RecordHeaders | undefined {
    const lineage = this.lineage;
    if (lineage === undefined || value === null || typeof value !== 'object') return undefined;
    const direct = lineage.get(value);
    if (direct !== undefined || ArrayBuffer.isView(value)) return direct;
    const fields = value as Record<string, unknown>;
    for (const key in fields) {
      const field = fields[key];
      if (field !== null && typeof field === 'object') {
        const found = lineage.get(field);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }
}
