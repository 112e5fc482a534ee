/**
 * A good canary on a live stream, end to end on the embedded default:
 * closed-loop users of the served world ask a real responder for lists and
 * react by their true preferences while the experiment-metrics application
 * follows them. A candidate trained as the promoted model was grows to
 * every user under the default guardrails and tolerances, each step
 * decided on its minimum sample per arm (test/live-canary.ts), and
 * becomes the promoted version, served to everyone afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LiveCanary, liveCanaryForFile } from '../../test/live-canary.js';
import { SERVED_WORLD_TRAIN_CONFIG } from '../../test/served-world.js';

let live: LiveCanary;
liveCanaryForFile('recstream-canary-promote-', (started) => {
  live = started;
});

const concluded = (version: number) => async () =>
  (await live.canary(version)).some((e) => e.status !== 'running');

test('a good candidate grows to every user and becomes the promoted version, served to everyone', {
  timeout: 600_000,
}, async () => {
  const version = await live.trainCandidate(SERVED_WORLD_TRAIN_CONFIG);
  assert.equal(version, 2);
  await live.indexCandidate(version);
  const started = Date.now();
  const summary = await live.trafficUntil(concluded(version), 300_000);
  const states = await live.canary(version);
  const seen = `${summary.served} lists, ${summary.impressions} impressions, ${summary.clicks} clicks in ${Date.now() - started} ms (${await live.trueClickThrough()}); ${states.at(-1)?.reason}`;
  console.log(`good canary: ${seen}`);
  assert.equal(summary.failed, 0);
  assert.equal(
    states[0]!.guardrails.find((g) => g.metric === 'ctr')?.tolerance,
    0.05,
    'the default tolerance',
  );
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
  while (service.bundles.status().model !== 'recstream@2') {
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
    assert.equal(body.model_version, 'recstream@2', `u${u}`);
    personal++;
  }
  assert.ok(personal > 30, `${personal} personal lists`);
});
