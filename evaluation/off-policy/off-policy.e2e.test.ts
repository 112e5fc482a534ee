/**
 * Off-policy evaluation end to end on the served world with two trained
 * versions (`recstream@2` promoted, trained for one epoch; `recstream@1`
 * kept): closed-loop users ask a real responder (HTTP on loopback) for
 * lists, first while an experiment explores (ε 0.3 on every slot), then
 * without exploration, and react by their true tastes; the features
 * application running beside the responder turns the lists into training
 * examples. Then `eval --off-policy`:
 *
 * - of the promoted version itself over the explored lists: every list
 *   replayed or counted as skipped, the logging policy's observed
 *   click-through beside it (how far the replay reproduces the version's
 *   own pages is printed: docs/evaluation.md, "Replay fidelity");
 * - of the other version over the same lists: an estimate, or the share of
 *   its choices exploration could not have made, whichever the log gives;
 * - of the other version over the lists served without exploration: no
 *   number, the reason;
 * - lists that reached the features application too late to get features
 *   as of their request are skipped and counted;
 * - the command's `--json`;
 * - over lists explored by Plackett–Luce, read position by position from
 *   the pools they logged, the other version's IPS, SNIPS and DR intervals
 *   against its true click-through, from serving it to the same
 *   closed-loop users afterwards;
 * - the gate's paired comparison of the two versions over those lists
 *   against the difference of their true click-throughs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningResponder, startResponder } from '../../app/responder.js';
import { openServingStore, type ServingStore } from '../../app/serving-store.js';
import { Indexer } from '../../indexer/indexer.js';
import { startExperiment, stopExperiment } from '../../registry/experiments/experiment-actions.js';
import { FileArtifactStore } from '../../registry/model-store.js';
import { createProducer } from '../../runtime/producer/producer.js';
import type { Platform } from '../../schemas/platform.js';
import { runClosedLoop } from '../../sim/closed-loop/closed-loop.js';
import { World } from '../../sim/world.js';
import { runCliOk } from '../../test/cli.js';
import { laterImpressions } from '../../test/experiments.js';
import { servedList } from '../../test/features.js';
import {
  buildServedWorld,
  openServedPlatform,
  SERVED_WORLD,
  SERVED_WORLD_ENV,
  SERVED_WORLD_TRAIN_CONFIG,
} from '../../test/served-world.js';
import { Trainer } from '../../trainer/trainer.js';
import { offPolicyDecision } from './gate-step.js';
import { offPolicyComparison } from './off-policy-comparison.js';
import { type OffPolicyReport, offPolicyReport } from './off-policy-report.js';

/** A second version unlike the first: one epoch, so its pages differ. */
const WEAK_TRAIN_CONFIG = { ...SERVED_WORLD_TRAIN_CONFIG, epochs: 1 };
/** Lists served late on purpose, behind the features application's watermark. */
const LATE_LISTS = 3;

let root: string;
let dataDir: string;
let platform: Platform;
let serving: ServingStore;
let responder: RunningResponder;
let store: FileArtifactStore;
const explored = { from: 0, to: 0 };
const deterministic = { from: 0, to: 0 };
const plackettLuce = { from: 0, to: 0 };
/** recstream@1's true click-through per impression, served to the closed-loop users. */
let candidateTruth = { impressions: 0, expectedClicks: 0 };
/** recstream@2's, served without exploration. */
let promotedTruth = { impressions: 0, expectedClicks: 0 };

async function closedLoop(
  requests: number,
  truth: string,
): Promise<Awaited<ReturnType<typeof runClosedLoop>>> {
  const summary = await runClosedLoop({
    world: new World(SERVED_WORLD),
    responder: responder.url,
    durationMs: 150_000,
    maxRequests: requests,
    rate: 200,
    visits: 24,
    speed: 600,
    truthPath: join(root, truth),
  });
  assert.equal(summary.failed, 0);
  await responder.recommendations()!.served.flush();
  return summary;
}

/** Serves every user by `variant` while `run` goes. */
async function inExperiment(
  id: string,
  variant: Record<string, unknown>,
  run: () => Promise<void>,
): Promise<void> {
  const service = responder.recommendations()!;
  await startExperiment(platform, { id, salt: `${id}-1`, variants: [{ share: 1, ...variant }] });
  await until(id, () => service.experiments.running(id) !== undefined);
  await run();
  await stopExperiment(platform, id);
  await until(`${id} stopped`, () => service.experiments.running(id) === undefined);
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 120_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'recstream-off-policy-'));
  dataDir = join(root, 'data');
  await buildServedWorld(dataDir);
  platform = await openServedPlatform(dataDir, { RECSTREAM_TRAIN_CONFIG: JSON.stringify(WEAK_TRAIN_CONFIG) });
  store = new FileArtifactStore(join(dataDir, 'artifacts'));
  const trained = await new Trainer({ platform, store }).trainOnce({ force: true });
  assert.equal(trained.kind === 'published' && trained.version.version, 2);
  assert.equal((await new Indexer({ platform, store }).indexOnce()).kind, 'full');
  serving = await openServingStore(platform);
  responder = await startResponder(platform, { online: serving.online, service: { pollMs: 10 } });
  await responder.started;
  const service = responder.recommendations()!;
  await until('recstream@2 served', () => service.bundles.status().model === 'recstream@2');

  await startExperiment(platform, {
    id: 'explore',
    salt: 'explore-1',
    variants: [
      {
        name: 'explore',
        model: 'promoted',
        share: 1,
        ordering: { exploration_epsilon: 0.3 },
      },
    ],
  });
  await until('the exploring experiment', () => service.experiments.running('explore') !== undefined);
  explored.from = Date.now();
  await closedLoop(400, 'explored.jsonl');
  explored.to = Date.now();
  await stopExperiment(platform, 'explore');
  await until('the stop folded', () => service.experiments.running('explore') === undefined);
  deterministic.from = Date.now();
  promotedTruth = await closedLoop(150, 'deterministic.jsonl');
  deterministic.to = Date.now();
  const pl = { exploration_policy: 'plackett_luce', exploration_temperature: 1, exploration_pool_size: 20 };
  await inExperiment('explore-pl', { name: 'pl', model: 'promoted', ordering: pl }, async () => {
    plackettLuce.from = Date.now();
    await closedLoop(400, 'plackett-luce.jsonl');
    plackettLuce.to = Date.now();
  });
  await inExperiment('serve-candidate', { name: 'candidate', model: 'recstream@1' }, async () => {
    await until('recstream@1 loaded', () => service.bundles.status().variants?.['recstream@1'] === 'loaded');
    candidateTruth = await closedLoop(400, 'candidate.jsonl');
  });

  // Event time moves an hour on in every partition, past the lateness and the label window, so
  // every list's exposures are released with their labels; then lists arrive behind it.
  const later = Date.now() + 60 * 60_000;
  const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
  const producer = createProducer({ log: platform.log, serde: platform.serde });
  try {
    await producer.deliver('rec.interactions', laterImpressions(users, later));
    await until('the features application caught up', () => serving.runner!.drained());
    await producer.deliver(
      'rec.recommendations',
      users.slice(0, LATE_LISTS).map((user, i) => {
        const list = servedList(`late-${user}`, user, ['i1'], explored.from + i, {
          model_version: 'recstream@2',
          index_version: null,
        });
        return { value: { ...list, items: list.items.map((item) => ({ ...item, propensity: 0.5 })) } };
      }),
    );
  } finally {
    await producer.close();
  }
  await until('the late lists read', () => serving.runner!.drained());
});

let closed = false;
async function closeAll(): Promise<void> {
  if (closed) return;
  closed = true;
  await responder?.close();
  await serving?.close();
  await platform?.close();
}

after(async () => {
  await closeAll();
  await rm(root, { recursive: true, force: true });
});

/** The off-policy report of `candidate` over the lists served in `window`, printed for the test's log. */
async function evaluated(
  candidate: string,
  window: { from: number; to: number },
  name: string,
  maxUnsupported?: number,
): Promise<OffPolicyReport> {
  const report = await offPolicyReport(platform, {
    online: serving.online,
    store,
    candidate,
    ...window,
    maxUnsupported,
  });
  console.log(describe(name, report));
  return report;
}

function describe(name: string, r: OffPolicyReport): string {
  const e = (x: OffPolicyReport['ips']) =>
    x === null ? '-' : `${x.value.toFixed(4)} [${x.ci[0].toFixed(4)}, ${x.ci[1].toFixed(4)}]`;
  return (
    `${name}: ${r.lists} lists, ${r.evaluated_lists} replayed, ${r.skipped_lists} skipped, ${r.decisions} decisions ` +
    `(${r.explorable_decisions} explorable, ${r.matching_decisions} matching, ${r.matching_unexplored_decisions} of ${r.reference_unexplored.decisions} unexplored matching), ` +
    `${r.lists_at_frontiers} lists at their frontiers, unsupported ${r.unsupported_share.toFixed(4)}; ` +
    `IPS ${e(r.ips)}, SNIPS ${e(r.snips)}, DR ${e(r.dr)}${r.dr_reason ? ` (${r.dr_reason})` : ''}, ESS ${r.effective_sample_size?.toFixed(1)}, ` +
    `${r.lists_by_position} lists by position, ${r.lists_without_reward_model} without reward model; ` +
    `observed ${r.reference.ctr.toFixed(4)}, unexplored ${r.reference_unexplored.ctr.toFixed(4)} ` +
    `[${r.reference_unexplored.ctr_ci[0].toFixed(4)}, ${r.reference_unexplored.ctr_ci[1].toFixed(4)}]` +
    (r.reason ? `; ${r.reason}` : '')
  );
}

test('the promoted version over its explored lists: every list replayed or counted as skipped, the reference beside it', {
  timeout: 300_000,
}, async () => {
  const report = await evaluated('recstream@2', explored, 'recstream@2 on explored lists');
  assert.ok(report.lists >= 100 + LATE_LISTS, `${report.lists} lists`);
  assert.ok(report.skipped_lists >= LATE_LISTS, 'the late lists have no features as of their request');
  assert.equal(report.evaluated_lists + report.skipped_lists, report.lists);
  assert.ok(report.explorable_decisions > report.decisions / 2, 'the lists were explored');
  assert.equal(report.reference.decisions, report.decisions);
  assert.ok(report.reference_unexplored.decisions < report.decisions, 'explored slots are left out of it');
  assert.ok(report.matching_decisions > 0, "the replay reproduces some of the version's own placements");
  // Lists served by the model log the item views' frontiers (those without: fallbacks, requests before
  // every partition had one); their items are read as of them. Measured: 90-95 % of the lists, and
  // 74.6-75.3 % of the unexplored slots reproduced on a quiet machine, 56.4 % on a loaded one, about what
  // the lateness approximation gave (docs/evaluation.md, "Replay fidelity").
  assert.ok(
    report.lists_at_frontiers >= 0.85 * report.evaluated_lists,
    `${report.lists_at_frontiers} at frontiers`,
  );
  assert.ok(
    report.matching_unexplored_decisions >= 0.5 * report.reference_unexplored.decisions,
    `${report.matching_unexplored_decisions} of ${report.reference_unexplored.decisions} unexplored slots reproduced`,
  );
  if (report.supported)
    assert.ok(report.ips !== null && (report.snips !== null || report.snips_reason !== null));
  else assert.match(report.reason!, /never takes/);
});

test('another version over the explored lists: an estimate within its interval, or the share the log cannot support', {
  timeout: 300_000,
}, async () => {
  const report = await evaluated('recstream@1', explored, 'recstream@1 on explored lists');
  assert.ok(report.matching_decisions < report.decisions, "the other version's pages differ");
  if (report.supported) {
    for (const estimate of [report.ips, report.snips, report.dr])
      if (estimate !== null) assert.ok(estimate.ci[0] <= estimate.value && estimate.value <= estimate.ci[1]);
    assert.ok(report.effective_sample_size! > 0 && report.effective_sample_size! <= report.decisions);
  } else {
    assert.ok(report.unsupported_share > 0.01);
    assert.match(report.reason!, /never takes/);
  }
});

test('without exploration the log gives no estimate of another version, and says why', {
  timeout: 300_000,
}, async () => {
  const report = await evaluated('recstream@1', deterministic, 'recstream@1 on deterministic lists');
  assert.equal(report.explorable_decisions, 0);
  assert.equal(report.supported, false);
  assert.equal(report.ips, null);
  assert.equal(report.snips, null);
  assert.equal(report.dr, null);
  assert.match(report.reason!, /logging policy never takes/);
  assert.ok(report.reference.decisions > 0, 'the observed click-through is still given');
});

test("over Plackett–Luce lists, another version's IPS, SNIPS and DR are all given, and run above its served click-through by no more than the world's choice and fatigue explain", {
  timeout: 300_000,
}, async () => {
  // recstream@1 retrieves some items recstream@2 ranks below its pool of 20 (measured: 4.7-8.2 % of its
  // slots over seven runs; 3.3-4.1 % with a pool of 60 or 100, which match fewer of its placements).
  const report = await evaluated('recstream@1', plackettLuce, 'recstream@1 on Plackett–Luce lists', 0.15);
  const truth = candidateTruth.expectedClicks / candidateTruth.impressions;
  console.log(
    `recstream@1 served: ${candidateTruth.impressions} impressions, true click-through ${truth.toFixed(4)}`,
  );
  assert.ok(report.supported, report.reason ?? '');
  // A request whose read of what the user has seen timed out is served unexplored, with no pool.
  assert.ok(
    report.lists_by_position >= 0.9 * report.evaluated_lists,
    `${report.lists_by_position} of ${report.evaluated_lists} lists logged their pool`,
  );
  // The simulated users choose among a list's items and tire of items shown again in a visit: a
  // candidate's item clicks more among the weaker, more varied items exploration draws than on its
  // own repeated page, so the estimates tend to run above the truth (docs/decisions.md §44). Measured
  // over eight runs: from 0.005 below it to 0.058 above, with an interval lying above the truth in two
  // (IPS 0.1016 [0.0533, 0.1559] for a truth of 0.0432): only what holds with room is asserted. DR
  // reads a choice model since (§46); nine runs then put it 0.013 below to 0.031 above the truth,
  // inside its interval each time.
  for (const [name, estimate] of [
    ['IPS', report.ips],
    ['SNIPS', report.snips],
    ['DR', report.dr],
  ] as const) {
    assert.ok(estimate !== null, `${name} is given (${report.snips_reason ?? report.dr_reason})`);
    const described = `${name} ${estimate.value} [${estimate.ci[0]}, ${estimate.ci[1]}], truth ${truth}`;
    console.log(described);
    assert.ok(truth <= estimate.ci[1], `the truth is not above the interval: ${described}`);
    assert.ok(estimate.value - truth < 0.08, `no further above the truth than measured: ${described}`);
  }
});

test("the gate's paired comparison of the other version with the promoted one: its interval is not below the true difference", {
  timeout: 300_000,
}, async () => {
  const comparison = await offPolicyComparison(platform, {
    online: serving.online,
    store,
    candidate: 'recstream@1',
    baseline: 'recstream@2',
    ...plackettLuce,
    maxUnsupported: 0.15,
  });
  const truth = (t: typeof candidateTruth) => t.expectedClicks / t.impressions;
  const trueDifference = truth(candidateTruth) - truth(promotedTruth);
  assert.ok(comparison.supported, comparison.supported ? '' : comparison.reason);
  const d = comparison.difference;
  const described =
    `${comparison.estimator} ${comparison.candidate.value.toFixed(4)} - ${comparison.baseline.value.toFixed(4)} = ` +
    `${d.value.toFixed(4)} [${d.ci[0].toFixed(4)}, ${d.ci[1].toFixed(4)}] over ${comparison.decisions} decisions; ` +
    `true ${truth(candidateTruth).toFixed(4)} - ${truth(promotedTruth).toFixed(4)} = ${trueDifference.toFixed(4)}`;
  console.log(`recstream@1 against recstream@2: ${described}`);
  // The candidate's estimate runs further above its truth than the promoted version's, whose lists the
  // log holds (the world's choice and fatigue, docs/decisions.md §44), so the difference leans upwards:
  // measured 0.032 above the truth, inside its interval. What matters to the gate is that a candidate
  // no worse than the promoted version is not called significantly worse.
  assert.equal(comparison.estimator, 'dr');
  assert.ok(trueDifference <= d.ci[1], `the true difference is not above the interval: ${described}`);
  assert.ok(d.value - trueDifference < 0.08, `no further above the truth than measured: ${described}`);
  assert.equal(offPolicyDecision(comparison, false).promote, d.ci[1] >= 0);
});

test('recstream eval --off-policy --json prints the report', { timeout: 300_000 }, async () => {
  // The embedded log has one writer per data dir: the command opens it once this process let go.
  await closeAll();
  const { stdout } = await runCliOk(
    [
      'eval',
      '--off-policy',
      '--candidate',
      'recstream@1',
      '--from',
      String(deterministic.from),
      '--to',
      String(deterministic.to),
      '--json',
      '--data-dir',
      dataDir,
    ],
    SERVED_WORLD_ENV,
  );
  const report = JSON.parse(stdout) as Record<string, unknown>;
  assert.equal(report.candidate, 'recstream@1');
  assert.equal(report.from, new Date(deterministic.from).toISOString());
  assert.equal(report.supported, false);
  assert.equal(report.ips, null);
  assert.equal(typeof report.reason, 'string');
  for (const key of ['lists', 'evaluated_lists', 'skipped_lists', 'decisions', 'unsupported_share'])
    assert.equal(typeof report[key], 'number', key);
  assert.deepEqual(Object.keys(report.reference as object).sort(), ['clicks', 'ctr', 'ctr_ci', 'decisions']);
});
