/**
 * Canaries on a live stream, end to end on the embedded default: closed-loop
 * users of the served world ask a real responder for lists and react by
 * their true preferences while the experiment-metrics application follows
 * the served lists and interactions. A candidate trained badly (dimension
 * 2, one epoch, a learning rate too small to learn anything) is rolled back
 * by itself at its first step, with every request answered; a candidate
 * trained as the promoted model was grows to every user and becomes the
 * promoted version, served to everyone afterwards. The bad candidate's
 * rollback also runs on the Kafka-protocol server (`canary.kafka.test.ts`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type LiveCanary, rollOutBadCandidate, startLiveCanary } from '../../test/live-canary.js';
import { buildServedWorld, SERVED_WORLD_TRAIN_CONFIG } from '../../test/served-world.js';

let root: string;
let live: LiveCanary;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'recstream-canary-e2e-'));
  const dataDir = join(root, 'data');
  await buildServedWorld(dataDir);
  live = await startLiveCanary(dataDir, {});
});

after(async () => {
  await live?.close();
  await rm(root, { recursive: true, force: true });
});

const concluded = (version: number) => async () =>
  (await live.canary(version)).some((e) => e.status !== 'running');

test('a bad candidate is rolled back by itself at its first step, with every request answered', {
  timeout: 600_000,
}, async () => {
  console.log(`bad canary: ${await rollOutBadCandidate(live, 2)}`);
});

/**
 * The good candidate's click-through guardrail rolls back only below 60 % of the control's
 * (tolerance 0.4, the default 0.05). A step's arms hold 25 to 40 of this world's users, a few
 * heavy ones making a third of an arm's impressions, so two equal models' arms differ by their
 * users alone: their true click-through stood 0.71 to 1.39 times the control's in eight steps of
 * four runs, the observed one as low as 0.25 times (1.44 % against 5.86 %) in one CI run, whose
 * default guardrail then rolled the good candidate back. The bad candidate, which this guardrail
 * must still stop, clicks at 0.3 to 0.53 of the control's.
 */
const GOOD_CANARY_CTR_TOLERANCE = 0.4;

test('a good candidate grows to every user and becomes the promoted version, served to everyone', {
  timeout: 600_000,
}, async () => {
  const version = await live.trainCandidate(SERVED_WORLD_TRAIN_CONFIG, {
    canaryCtrTolerance: GOOD_CANARY_CTR_TOLERANCE,
  });
  assert.equal(version, 3);
  await live.indexCandidate(version);
  const started = Date.now();
  const summary = await live.trafficUntil(concluded(version), 300_000);
  const states = await live.canary(version);
  const seen = `${summary.served} lists, ${summary.impressions} impressions, ${summary.clicks} clicks in ${Date.now() - started} ms (${await live.trueClickThrough()}); ${states.at(-1)?.reason}`;
  console.log(`good canary: ${seen}`);
  assert.equal(summary.failed, 0);
  assert.equal(states[0]!.guardrails.find((g) => g.metric === 'ctr')?.tolerance, GOOD_CANARY_CTR_TOLERANCE);
  assert.deepEqual(
    states.map((e) => [e.status, e.canary?.step, e.variants.map((v) => v.share)]),
    [
      ['running', 0, [0.25, 0.75]],
      ['running', 1, [0.5, 0.5]],
      ['concluded', 1, [0.5, 0.5]],
    ],
    seen,
  );
  assert.match(states[2]!.reason!, /^canary promoted candidate after step 2 of 3 \(50\.00 %\)/, seen);
  const events = await live.versionEvents(version);
  assert.deepEqual(
    events.map((v) => v.status),
    ['candidate', 'promoted'],
  );
  const service = live.responder.recommendations()!;
  const deadline = Date.now() + 60_000;
  while (service.bundles.status().model !== 'recstream@3') {
    assert.ok(Date.now() < deadline, 'the responder swaps to the promoted candidate');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let personal = 0;
  for (let u = 0; u < 60; u++) {
    const res = await fetch(`${live.responder.url}/v1/recommendations/u${u}?k=5`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      model_version: string | null;
      experiment_id: string | null;
      fallback: string | null;
    };
    assert.equal(body.experiment_id, null, `u${u} is in no experiment once the canary concluded`);
    if (body.fallback !== null) continue;
    assert.equal(body.model_version, 'recstream@3', `u${u}`);
    personal++;
  }
  assert.ok(personal > 30, `${personal} personal lists`);
});
