/**
 * A seeded experiment world for the experiment-metrics tests: served lists
 * (v2, with experiment_id and variant) of two variants whose items are
 * clicked at different true rates, and the interactions that carry their
 * request ids, written to the embedded log as the responders and clients
 * would; the application run over them; its figures read back through the
 * online store, as `experiments show` reads them; and the count a person
 * would do from the raw topics.
 *
 * @example
 * ```ts
 * const world = experimentTraffic({ seed: 1, requests: 2000, rates: { control: 0.04, candidate: 0.07 }, start: T0 });
 * await publishWorld(platform, [experiment], world);
 * await runExperimentMetrics(platform, stateDir);
 * const report = await readFigures(platform, stateDir, experiment);
 * ```
 */

import { Registry } from 'prom-client';
import { experimentGauges } from '../app/experiment-gauges.js';
import { CLICK_THROUGH } from '../features/math/interactions.js';
import type { Proportion, UnitSums } from '../lib/sequential-test.js';
import type { ExperimentReport } from '../processors/experiment-metrics/report.js';
import { readExperimentFigures } from '../registry/experiments/experiment-figures.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { runnersLookup } from '../runtime/online/in-process/task-lookup.js';
import { openOnlineStore } from '../runtime/online/open.js';
import type { Platform } from '../runtime/platform.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import { createProducer } from '../runtime/producer/producer.js';
import type {
  Experiment,
  Interaction,
  ModelVersion,
  ServedRecommendations,
} from '../schemas/generated/types.js';
import { PLATFORM_TOPICS } from '../schemas/topics.js';
import type { ExperimentWorld } from '../sim/experiment-traffic.js';
import { experimentMetricsTopology } from '../topologies/experiment-metrics.js';
import { onlineViews } from '../topologies/online-views.js';

export const MIN = 60_000;
export const T0 = Date.UTC(2026, 0, 5, 12);
export const PARTITIONS = 2;
export const WINDOW_MS = 2 * MIN;

/** The experiment of the experiment-metrics tests: a candidate version against the promoted model, 50/50. */
export const RANKER_AB: Experiment = {
  id: 'ranker-ab',
  description: 'two-tower@4 against the promoted model',
  status: 'running',
  salt: 'ab1',
  traffic_start: 0,
  traffic_end: 1,
  variants: [
    { name: 'candidate', model: 'two-tower@4', share: 0.5, shadow: false, ordering: null },
    { name: 'control', model: 'promoted', share: 0.5, shadow: false, ordering: null },
  ],
  primary_metric: 'ctr',
  guardrails: [],
  canary: null,
  reason: null,
  created_ts: T0 - MIN,
  updated_ts: T0 - MIN,
};

/** Publishes the experiments (and model versions) first, then the lists, then the interactions. */
export async function publishWorld(
  platform: Platform,
  experiments: readonly Experiment[],
  world: ExperimentWorld,
  models: readonly ModelVersion[] = [],
): Promise<void> {
  const producer = createProducer({
    log: platform.log,
    serde: platform.serde,
    createTopics: { partitions: PARTITIONS },
  });
  try {
    if (models.length > 0)
      await producer.send(
        'rec.model-versions',
        models.map((value) => ({ value })),
      );
    if (experiments.length > 0)
      await producer.send(
        'rec.experiments',
        experiments.map((value) => ({ value })),
      );
    await producer.send(
      'rec.recommendations',
      world.lists.map((value) => ({ value })),
    );
    await producer.send(
      'rec.interactions',
      world.events.map((value) => ({ value })),
    );
  } finally {
    await producer.close();
  }
}

export async function metricsRunner(platform: Platform, stateDir: string): Promise<StreamRunner> {
  return StreamRunner.start({
    topology: await experimentMetricsTopology(platform.serde, { windowMs: WINDOW_MS }),
    log: platform.log,
    stateDir,
    engine: 'rocksdb',
    commitIntervalMs: 10,
    deadLetters: avroSerializer(await platform.serde.encoder('rec.dlq-value')),
    topics: PLATFORM_TOPICS,
    logger: silentLogger(),
  });
}

export async function runExperimentMetrics(platform: Platform, stateDir: string): Promise<void> {
  await (await metricsRunner(platform, stateDir)).runUntilCaughtUp();
}

/**
 * The experiment's report through the in-process online store, as
 * `experiments show` reads it, and the Prometheus text of the gauges.
 */
export async function readFigures(
  platform: Platform,
  stateDir: string,
  experiment: Experiment,
): Promise<{ report: ExperimentReport | undefined; prometheus: string }> {
  const runner = await metricsRunner(platform, stateDir);
  const lookup = runnersLookup(new Map([['experiment-metrics', runner]]));
  const online = await openOnlineStore(
    platform.config,
    await onlineViews(platform.serde),
    silentLogger(),
    lookup,
  );
  try {
    const registry = new Registry();
    experimentGauges(registry, lookup);
    return {
      report: await readExperimentFigures(online, experiment.id, experiment),
      prometheus: await registry.metrics(),
    };
  } finally {
    await online.close();
    await runner.close();
  }
}

/** Every value of a topic, decoded, in partition then offset order. */
export async function topicValues<T>(platform: Platform, topic: string, subject: string): Promise<T[]> {
  const decoder = await platform.serde.decoder(subject);
  const out: T[] = [];
  for (const { partition, start, end } of await platform.log.offsets(topic))
    for (let offset = start; offset < end; ) {
      const batch = await platform.log.read(topic, partition, offset, 1000);
      for (const r of batch) out.push((await decoder.decode(r.value!)) as T);
      offset = batch.at(-1)!.offset + 1;
    }
  return out;
}

/** Each non-shadow list of the experiment, with its clicked-through exposures counted from the raw topics. */
async function attributedLists(
  platform: Platform,
  experimentId: string,
): Promise<{ variant: string; user: string; impressions: number; clicks: number }[]> {
  const lists = await topicValues<ServedRecommendations>(
    platform,
    'rec.recommendations',
    'rec.recommendations-value',
  );
  const events = await topicValues<Interaction>(platform, 'rec.interactions', 'rec.interactions-value');
  const byRequest = new Map(
    lists
      .filter((l) => l.experiment_id === experimentId && l.variant !== null && !l.shadow)
      .map((l) => [l.request_id, l]),
  );
  const clicks = new Map<string, number>();
  const clicked = new Set<string>();
  for (const e of events) {
    const list = e.context.request_id === null ? undefined : byRequest.get(e.context.request_id);
    if (list === undefined || list.user_id !== e.user_id || !CLICK_THROUGH.has(e.type)) continue;
    if (!list.items.some((i) => i.item_id === e.item_id)) continue;
    const exposure = `${list.request_id}/${e.item_id}`;
    if (clicked.has(exposure)) continue;
    clicked.add(exposure);
    clicks.set(list.request_id, (clicks.get(list.request_id) ?? 0) + 1);
  }
  return [...byRequest.values()].map((list) => ({
    variant: list.variant!,
    user: list.user_id,
    impressions: list.items.length,
    clicks: clicks.get(list.request_id) ?? 0,
  }));
}

/** Per variant: requests, impressions and clicked exposures, counted from the raw topics. */
export async function countFromTopics(
  platform: Platform,
  experimentId: string,
): Promise<Record<string, { requests: number; impressions: number; clicks: number }>> {
  const out: Record<string, { requests: number; impressions: number; clicks: number }> = {};
  for (const list of await attributedLists(platform, experimentId)) {
    const row = out[list.variant] ?? { requests: 0, impressions: 0, clicks: 0 };
    out[list.variant] = row;
    row.requests++;
    row.impressions += list.impressions;
    row.clicks += list.clicks;
  }
  return out;
}

/** Per variant, its click-through with the sums over its users (lib/sequential-test.ts `UnitSums`), counted from the raw topics. */
export async function clickThroughFromTopics(
  platform: Platform,
  experimentId: string,
): Promise<Record<string, Proportion>> {
  const perUser = new Map<string, { variant: string; clicks: number; impressions: number }>();
  for (const list of await attributedLists(platform, experimentId)) {
    const key = `${list.variant}/${list.user}`;
    const user = perUser.get(key) ?? { variant: list.variant, clicks: 0, impressions: 0 };
    perUser.set(key, user);
    user.clicks += list.clicks;
    user.impressions += list.impressions;
  }
  const sums: Record<string, { successes: number; trials: number; units: UnitSums }> = {};
  for (const { variant, clicks, impressions } of perUser.values()) {
    const row = sums[variant] ?? {
      successes: 0,
      trials: 0,
      units: { count: 0, successesSq: 0, trialsSq: 0, cross: 0 },
    };
    sums[variant] = row;
    row.successes += clicks;
    row.trials += impressions;
    row.units = {
      count: row.units.count + 1,
      successesSq: row.units.successesSq + clicks * clicks,
      trialsSq: row.units.trialsSq + impressions * impressions,
      cross: row.units.cross + clicks * impressions,
    };
  }
  return sums;
}

/**
 * One impression of item `i0` per user at `ts`, outside any served list:
 * delivered to `rec.interactions`, it moves event time on in every
 * partition those users' keys fall in, so what waits for a later event
 * (attribution windows, lateness, label windows) is released.
 */
export function laterImpressions(users: readonly string[], ts: number): { value: Interaction }[] {
  return users.map((user) => ({
    value: {
      event_id: `after-the-test-${user}`,
      user_id: user,
      item_id: 'i0',
      type: 'impression' as const,
      value: null,
      watch_ms: null,
      ts,
      context: { device: null, country: null, session_id: null, surface: null, request_id: null },
    },
  }));
}
