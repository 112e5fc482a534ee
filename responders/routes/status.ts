/**
 * What the operator console polls (`GET /`, see ../console/):
 *
 * - `GET /v1/status` → this process's view of the platform, cheap enough to
 *   poll every couple of seconds:
 *   - `applications`: one row per processor application (and state
 *     namespace) with `records_in`, `records_out` and `dead_letters` since
 *     this process started, and `lag` (end offset minus position, summed
 *     over partitions), read from the runtime's prom-client metrics in this
 *     process. An application that runs in another process (a separate
 *     `recstream process`) has no numbers here: it is listed with
 *     `running: false` and `null` counts, and `note` says so. Counters are
 *     cumulative; a client derives throughput from two polls.
 *   - `dlq.records`: dead letters in `rec.dlq` (from the log's offsets, so
 *     every process's), `dlq.this_process`: those this process wrote.
 *   - `log.interactions`: records in `rec.interactions` (how far ingest got).
 *   - `serving`: the served model and index (`model@version`), why none is
 *     served, requests answered and catalog size; `state` `off` when this
 *     responder serves no recommendations, `starting` until it does.
 *   - `admin.enabled`: whether the admin API is on (credentials are configured;
 *     the console then shows its token field).
 * - `GET /v1/throughput` → the same counters sampled every `sampleMs` (2 s)
 *   by this process over the last `windowMs` (5 minutes), oldest first, so
 *   the console's chart has a history as soon as the page opens:
 *   `{ interval_ms, samples: [{ ts, apps: { name: { in, out } }, interactions }] }`
 *   (`name` is the application, with ` (namespace)` for a namespace other
 *   than `default`; running applications only).
 * - `GET /v1/models` → the registry, folded from `rec.model-versions` and
 *   `rec.index-versions`: every version of the configured model with its
 *   status, metrics, parent and lineage (one line per topic partition with
 *   its offset range and how many offsets were left out), which one is
 *   promoted and which one this responder serves, and every index version.
 *
 * @example
 * ```ts
 * await app.register(statusRoutes, { metrics: platform.metrics, log: platform.log, serde: platform.serde,
 *   modelName: 'recstream', indexName: 'items', service: () => service, adminEnabled: true });
 * // curl http://127.0.0.1:8080/v1/status
 * ```
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { IndexRegistry } from '../../registry/index-registry.js';
import { ModelRegistry } from '../../registry/model-registry.js';
import type { EventLog } from '../../runtime/log/log.js';
import { runtimeMetrics } from '../../runtime/observability/metrics.js';
import { DLQ_TOPIC } from '../../runtime/processor/dead-letter.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { ModelVersion } from '../../schemas/generated/types.js';
import { applicationNames } from '../../topologies/index.js';
import type { BundleStatus } from '../recommend/bundle-manager.js';
import { serveMetrics } from '../recommend/serve-metrics.js';

const INTERACTIONS_TOPIC = 'rec.interactions';

/** The parts of the recommendation service the status reads. */
export interface StatusService {
  readonly bundles: { status(): BundleStatus };
  readonly catalog: { readonly size: number };
}

export interface StatusRoutesOptions {
  readonly metrics: Registry;
  readonly log: EventLog;
  readonly serde: Serde;
  readonly modelName: string;
  readonly indexName: string;
  /** Undefined: this responder serves no recommendations. The function returns undefined while it starts. */
  readonly service?: () => StatusService | undefined;
  readonly adminEnabled: boolean;
  /** How often the throughput history is sampled; default 2000 ms. */
  readonly sampleMs?: number;
  /** How far back the throughput history goes; default 5 minutes. */
  readonly windowMs?: number;
}

export interface ThroughputSample {
  readonly ts: number;
  readonly apps: Readonly<Record<string, { readonly in: number; readonly out: number }>>;
  readonly interactions: number;
}

export interface ApplicationStatus {
  readonly application: string;
  /** State namespace (`default`, or a blue/green one); null when it does not run here. */
  readonly namespace: string | null;
  /** Whether it runs in this process now (it reports a lag). */
  readonly running: boolean;
  readonly records_in: number | null;
  readonly records_out: number | null;
  readonly lag: number | null;
  readonly dead_letters: number | null;
}

export interface ConsoleStatus {
  readonly ts: number;
  readonly process: { readonly pid: number; readonly uptime_s: number };
  readonly applications: readonly ApplicationStatus[];
  readonly dlq: { readonly records: number; readonly this_process: number };
  readonly log: { readonly interactions: number };
  readonly serving: {
    readonly state: 'off' | 'starting' | 'serving' | 'no_model';
    readonly model: string | null;
    readonly index: string | null;
    readonly problem: string | null;
    readonly requests: number;
    readonly catalog_items: number | null;
  };
  readonly admin: { readonly enabled: boolean };
  /** What this page cannot see from this process, in words; null when it sees everything. */
  readonly note: string | null;
}

interface Sample {
  readonly labels: Partial<Record<string, string | number>>;
  readonly value: number;
}

async function samples(metric: { get(): Promise<{ values: Sample[] }> }): Promise<Sample[]> {
  return (await metric.get()).values;
}

/** Records a topic holds (end minus start per partition; an upper bound on a compacted topic), 0 when absent. */
async function recordsIn(log: EventLog, topic: string): Promise<number> {
  if (!(await log.describeTopic(topic))) return 0;
  return (await log.offsets(topic)).reduce((n, p) => n + (p.end - p.start), 0);
}

export async function applicationStatuses(registry: Registry): Promise<ApplicationStatus[]> {
  const metrics = runtimeMetrics(registry);
  const rows = new Map<
    string,
    {
      application: string;
      namespace: string;
      running: boolean;
      in: number;
      out: number;
      lag: number;
      dlq: number;
    }
  >();
  const row = (labels: Sample['labels']) => {
    const application = String(labels.application ?? 'unknown');
    const namespace = String(labels.namespace ?? 'default');
    const key = `${application}\u0000${namespace}`;
    let found = rows.get(key);
    if (!found) {
      found = { application, namespace, running: false, in: 0, out: 0, lag: 0, dlq: 0 };
      rows.set(key, found);
    }
    return found;
  };
  for (const s of await samples(metrics.recordsIn)) row(s.labels).in += s.value;
  for (const s of await samples(metrics.recordsOut)) row(s.labels).out += s.value;
  for (const s of await samples(metrics.deadLetters)) row(s.labels).dlq += s.value;
  for (const s of await samples(metrics.lag)) {
    const r = row(s.labels);
    r.running = true;
    r.lag += s.value;
  }
  const out: ApplicationStatus[] = [...rows.values()].map((r) => ({
    application: r.application,
    namespace: r.namespace,
    running: r.running,
    records_in: r.in,
    records_out: r.out,
    lag: r.running ? r.lag : null,
    dead_letters: r.dlq,
  }));
  for (const application of applicationNames())
    if (!out.some((r) => r.application === application))
      out.push({
        application,
        namespace: null,
        running: false,
        records_in: null,
        records_out: null,
        lag: null,
        dead_letters: null,
      });
  return out.sort(
    (a, b) =>
      a.application.localeCompare(b.application) || (a.namespace ?? '').localeCompare(b.namespace ?? ''),
  );
}

/** A lineage range as the console shows it: the excluded offsets counted, not listed. */
export interface LineageLine {
  readonly topic: string;
  readonly partition: number;
  readonly start_offset: number;
  readonly end_offset: number;
  readonly excluded: number;
}

export type ModelVersionSummary = Omit<ModelVersion, 'lineage' | 'artifacts'> & {
  readonly lineage: readonly LineageLine[];
  readonly artifacts: number;
};

function summary(version: ModelVersion): ModelVersionSummary {
  const { lineage, artifacts, ...rest } = version;
  return {
    ...rest,
    lineage: lineage.map((range) => ({
      topic: range.topic,
      partition: range.partition,
      start_offset: range.start_offset,
      end_offset: range.end_offset,
      excluded: range.excluded_offsets.length,
    })),
    artifacts: artifacts.length,
  };
}

/** The name a running application goes by in the throughput history and chart. */
export function seriesName(row: Pick<ApplicationStatus, 'application' | 'namespace'>): string {
  return row.namespace === null || row.namespace === 'default'
    ? row.application
    : `${row.application} (${row.namespace})`;
}

export const statusRoutes: FastifyPluginAsync<StatusRoutesOptions> = async (app, options) => {
  const { metrics, log, serde, modelName, indexName } = options;
  const serve = serveMetrics(metrics);
  const startedTs = Date.now();
  const sampleMs = options.sampleMs ?? 2000;
  const windowMs = options.windowMs ?? 5 * 60_000;

  const history: ThroughputSample[] = [];
  let sampling = false;
  const sample = async () => {
    if (sampling) return;
    sampling = true;
    try {
      const apps: Record<string, { in: number; out: number }> = {};
      for (const row of await applicationStatuses(metrics))
        if (row.running) apps[seriesName(row)] = { in: row.records_in ?? 0, out: row.records_out ?? 0 };
      const ts = Date.now();
      history.push({ ts, apps, interactions: await recordsIn(log, INTERACTIONS_TOPIC) });
      while (history.length > 0 && history[0]!.ts < ts - windowMs) history.shift();
    } catch (error) {
      app.log.warn({ err: error }, 'throughput sample failed');
    } finally {
      sampling = false;
    }
  };
  const timer = setInterval(sample, sampleMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
  await sample();

  app.get('/v1/throughput', async () => ({ interval_ms: sampleMs, window_ms: windowMs, samples: history }));

  app.get('/v1/status', async (): Promise<ConsoleStatus> => {
    const applications = await applicationStatuses(metrics);
    const service = options.service?.();
    const bundles = service?.bundles.status();
    const requests = (await samples(serve.requests)).reduce((n, s) => n + s.value, 0);
    const elsewhere = applications.filter((a) => !a.running).map((a) => a.application);
    return {
      ts: Date.now(),
      process: { pid: process.pid, uptime_s: Math.round((Date.now() - startedTs) / 1000) },
      applications,
      dlq: {
        records: await recordsIn(log, DLQ_TOPIC),
        this_process: applications.reduce((n, a) => n + (a.dead_letters ?? 0), 0),
      },
      log: { interactions: await recordsIn(log, INTERACTIONS_TOPIC) },
      serving: {
        state:
          options.service === undefined
            ? 'off'
            : service === undefined
              ? 'starting'
              : bundles?.model == null
                ? 'no_model'
                : 'serving',
        model: bundles?.model ?? null,
        index: bundles?.index ?? null,
        problem: bundles?.problem ?? null,
        requests,
        catalog_items: service?.catalog.size ?? null,
      },
      admin: { enabled: options.adminEnabled },
      note:
        elsewhere.length === 0
          ? null
          : `${elsewhere.join(', ')} ${elsewhere.length === 1 ? 'does' : 'do'} not run in this process (pid ${process.pid}): ` +
            'throughput and lag of an application run by a separate `recstream process` are on that process’s /metrics.',
    };
  });

  app.get('/v1/models', async () => {
    const [models, indexes] = await Promise.all([
      ModelRegistry.load(log, serde),
      IndexRegistry.load(log, serde),
    ]);
    const served = options.service?.()?.bundles.status();
    return {
      model: modelName,
      promoted: models.promoted(modelName)?.version ?? null,
      rollback_target: models.rollbackTarget(modelName)?.version ?? null,
      served_model: served?.model ?? null,
      served_index: served?.index ?? null,
      versions: models.versions(modelName).map(summary),
      index: indexName,
      indexes: [...indexes.versions(indexName)].sort((a, b) => a.version - b.version),
    };
  });
};
