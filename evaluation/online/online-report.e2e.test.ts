/**
 * The closed loop end to end: simulated users of the served world ask a
 * real responder (HTTP on loopback) for lists, respond to them and post
 * their events; the online report then counts, from the raw topics, what
 * the run counted as it went, and sets the truth beside it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningResponder, startResponder } from '../../app/responder.js';
import { openServingStore, type ServingStore } from '../../app/serving-store.js';
import { readTopic } from '../../registry/topic-reader.js';
import type { Platform } from '../../schemas/platform.js';
import { type ClosedLoopSummary, runClosedLoop } from '../../sim/closed-loop/closed-loop.js';
import { readTruthLog } from '../../sim/closed-loop/truth-log.js';
import { World } from '../../sim/world.js';
import { buildServedWorld, openServedPlatform, SERVED_WORLD } from '../../test/served-world.js';
import { onlineReport } from './online-report.js';

let root: string;
let platform: Platform;
let serving: ServingStore;
let responder: RunningResponder;
let summary: ClosedLoopSummary;
let truthPath: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'recstream-closed-loop-'));
  const dataDir = join(root, 'data');
  await buildServedWorld(dataDir);
  platform = await openServedPlatform(dataDir);
  serving = await openServingStore(platform);
  responder = await startResponder(platform, { online: serving.online, service: { pollMs: 10 } });
  await responder.started;
  truthPath = join(root, 'truth.jsonl');
  const world = new World(SERVED_WORLD);
  summary = await runClosedLoop({
    world,
    responder: responder.url,
    durationMs: 60_000,
    maxRequests: 120,
    rate: 100,
    visits: 8,
    speed: 600,
    truthPath,
  });
  await responder.recommendations()!.served.flush();
});

after(async () => {
  await responder?.close();
  await serving?.close();
  await platform?.close();
  await rm(root, { recursive: true, force: true });
});

test('every served list has its truth, and the events carry its request id', async () => {
  // 120 lists, or what a loaded machine served in a minute.
  assert.ok(summary.served >= 30, `served ${summary.served}`);
  assert.equal(summary.failed, 0);
  assert.ok(summary.organic > 0, 'users also browse on their own');
  const truth = await readTruthLog(truthPath);
  assert.equal(truth.size, summary.served);
  for (const line of truth.values()) {
    assert.equal(line.p_click.length, line.items.length);
    assert.ok(line.expected_clicks > 0 && line.expected_clicks < 1);
  }
  let attributed = 0;
  const decoder = await platform.serde.decoder('rec.interactions-value');
  for await (const record of readTopic(platform.log, 'rec.interactions')) {
    const event = await decoder.decode(record.value!);
    if (event.context.request_id !== null && truth.has(event.context.request_id)) attributed++;
  }
  assert.ok(
    attributed >= summary.impressions,
    `${attributed} attributed events, ${summary.impressions} impressions`,
  );
});

test('the online report counts from the raw topics what the run counted, with the truth beside it', async () => {
  const truth = await readTruthLog(truthPath);
  const report = await onlineReport(platform.log, platform.serde, { from: 0, to: Date.now() + 1, truth });
  const total = (name: 'requests' | 'impressions' | 'clicks') =>
    report.rows.reduce((sum, r) => sum + r[name], 0);
  assert.equal(total('requests'), summary.served);
  assert.equal(total('impressions'), summary.impressions);
  assert.equal(total('clicks'), summary.clicks);
  const model = report.rows.find((r) => r.model_version === 'recstream@1');
  assert.ok(model, 'the promoted model served');
  assert.ok(model.true_ctr !== null && model.truth_requests === model.requests);
  // The measured click-through agrees with the truth: clicks within 4 standard deviations of
  // the expected clicks of the very lists served (a Poisson-binomial sum).
  let expected = 0;
  let variance = 0;
  for (const line of truth.values())
    for (const p of line.p_click) {
      expected += p;
      variance += p * (1 - p);
    }
  assert.ok(
    Math.abs(summary.clicks - expected) <= 4 * Math.sqrt(variance),
    `${summary.clicks} clicks, ${expected.toFixed(1)} expected`,
  );
});

test('under the cascade click model the truth log says so, and the clicks agree with its probabilities', async () => {
  const cascadePath = join(root, 'cascade-truth.jsonl');
  const run = await runClosedLoop({
    world: new World(SERVED_WORLD),
    responder: responder.url,
    durationMs: 60_000,
    maxRequests: 120,
    rate: 100,
    visits: 8,
    speed: 600,
    truthPath: cascadePath,
    clickModel: 'cascade',
  });
  const [header] = (await readFile(cascadePath, 'utf8')).split('\n', 1);
  assert.equal(JSON.parse(header!).click_model, 'cascade');
  const truth = await readTruthLog(cascadePath);
  assert.equal(truth.size, run.served);
  let expected = 0;
  let variance = 0;
  for (const line of truth.values())
    for (const p of line.p_click) {
      expected += p;
      variance += p * (1 - p);
    }
  assert.ok(Math.abs(run.expectedClicks - expected) < 1e-3 * truth.size, 'the summary sums the truth');
  assert.ok(
    Math.abs(run.clicks - expected) <= 4 * Math.sqrt(variance),
    `${run.clicks} clicks, ${expected.toFixed(1)} expected`,
  );
});
