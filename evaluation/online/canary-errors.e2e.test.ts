/**
 * The `error_rate` guardrail on a live stream: closed-loop users of the
 * served world ask a real responder for lists while the experiment-metrics
 * application follows them. The candidate is trained as the promoted model
 * was, so its lists click as well, but its loaded user tower fails every
 * fifth request (an ONNX session that cannot run, injected into the
 * responder's own copy of the candidate): the responder serves those
 * requests popularity with fallback `model_error`, and the canary is
 * rolled back by its error_rate guardrail at its first step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LiveCanary, liveCanaryForFile } from '../../test/live-canary.js';
import { SERVED_WORLD_TRAIN_CONFIG } from '../../test/served-world.js';

let live: LiveCanary;
liveCanaryForFile('recstream-canary-errors-', (started) => {
  live = started;
});

/**
 * Makes every `every`-th call of the loaded version's user tower fail, in every bundle of the
 * version the responder serves from (a bundle loaded again is patched as it is handed out);
 * returns the calls and failures so far.
 */
function failEvery(label: string, every: number): () => { calls: number; failed: number } {
  const bundles = live.responder.recommendations()!.bundles;
  const acquire = bundles.acquireVersion.bind(bundles);
  const patched = new WeakSet<object>();
  const counts = { calls: 0, failed: 0 };
  bundles.acquireVersion = (wanted) => {
    const bundle = acquire(wanted);
    if (bundle === undefined || bundle.modelLabel !== label) return bundle;
    const tower = bundle.models.userTower;
    if (patched.has(tower)) return bundle;
    patched.add(tower);
    const embed = tower.embed.bind(tower);
    tower.embed = async (batch) => {
      counts.calls++;
      if (counts.calls % every !== 0) return embed(batch);
      counts.failed++;
      throw new Error('the ONNX session failed to run');
    };
    return bundle;
  };
  return () => ({ ...counts });
}

/**
 * Candidate impressions (about 500 lists) the failing canary's first step needs before it could
 * grow: by then errors on a fifth of its lists, none of the control's, are beyond the test's
 * interval (about ±6 points at 500 lists); at the live canary's 600, about 100 lists, they are
 * not (±21 points), and a run grew and promoted it with 21 errors in 107 lists.
 */
const FAILING_CANARY_MIN_IMPRESSIONS = 3000;

test('a candidate whose model fails a fifth of its requests is rolled back by the error_rate guardrail', {
  timeout: 600_000,
}, async () => {
  const version = await live.trainCandidate(SERVED_WORLD_TRAIN_CONFIG, {
    canaryMinImpressions: FAILING_CANARY_MIN_IMPRESSIONS,
  });
  assert.equal(version, 2);
  await live.indexCandidate(version);
  const injected = failEvery(`recstream@${version}`, 5);
  const summary = await live.trafficUntil(
    async () => (await live.canary(version)).some((e) => e.status !== 'running'),
    420_000,
  );
  const states = await live.canary(version);
  const { calls, failed } = injected();
  const seen = `${summary.served} lists; candidate tower ${calls} calls, ${failed} failed; ${states.at(-1)?.reason}; last step: ${await live.lastStep(version)}; served: ${await live.servedBy()}`;
  console.log(`failing canary: ${seen}`);
  assert.equal(summary.failed, 0, 'every request of the closed loop answered');
  assert.ok(failed > 0, seen);
  assert.deepEqual(
    states.map((e) => [e.status, e.canary?.step]),
    [
      ['running', 0],
      ['concluded', 0],
    ],
    seen,
  );
  assert.match(
    states[1]!.reason!,
    /^canary rolled back at step 1 of 3 \(25\.00 %\): guardrail error_rate: candidate /,
    seen,
  );
  assert.deepEqual(
    (await live.versionEvents(version)).map((v) => v.status),
    ['candidate', 'rejected'],
  );
});
