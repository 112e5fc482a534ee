/**
 * The demo's last stage: every role running in this process over the
 * demo's data dir (`startRoles`: the processor applications, the trainer
 * retraining on new snapshots, the indexer, the responder on
 * RECSTREAM_HTTP_HOST:PORT, 127.0.0.1:8080), u0's recommendations printed
 * with titles and scores, and the `curl` to ask for more. While the live
 * stream goes on, each new model version and index version is printed as
 * it comes, under one status line: live events a second, processor lag,
 * the model version served and the requests served. Closed-loop users of
 * the same world react to what is served, and once two model versions are
 * out they are A/B tested (demo-experiment.ts). It runs until `signal`
 * aborts (Ctrl-C).
 *
 * @example
 * ```ts
 * await demoServe(platform, process.stdout, abortController.signal, () => appended, world);
 * ```
 */

import { describeIndexOutcome, describeTrainOutcome } from '../app/outcomes.js';
import { type RunningRoles, startRoles } from '../app/roles.js';
import { servingOffPolicyStep } from '../evaluation/off-policy/gate-step.js';
import type { ConsoleStatus } from '../responders/routes/status.js';
import type { Platform } from '../runtime/platform.js';
import type { SimulationOptions } from '../sim/options.js';
import { DemoExperiment } from './demo-experiment.js';
import { DEMO_ENGINE } from './demo-model.js';
import { StatusLine } from './progress.js';

interface Listed {
  items: { item_id: string; score: number }[];
  model_version: string | null;
  index_version: string | null;
  fallback: string | null;
}

/** How often the status line is redrawn, and the span its events/s is measured over. */
const STATUS_EVERY_MS = 1000;
const RATE_WINDOW = 5;
/** How often the A/B test's figures are looked at (printed when they changed). */
const FIGURES_EVERY_MS = 30_000;

export async function demoServe(
  platform: Platform,
  out: NodeJS.WritableStream,
  signal: AbortSignal,
  liveEvents: () => number,
  world: SimulationOptions,
): Promise<void> {
  const status = new StatusLine('live');
  const say = (line: string) => {
    status.clear();
    out.write(`${line}\n`);
  };
  let shown = false;
  const ab = new DemoExperiment(platform, say);
  const startAb = () =>
    ab.onVersion().catch((error: unknown) => say(`no A/B test: ${(error as Error).message}`));
  const roles = await startRoles(platform, {
    signal,
    engineDefaults: DEMO_ENGINE,
    offPolicyStep: servingOffPolicyStep(platform),
    // New versions only: rounds that had nothing to do stay in the log file.
    onTrain: (o) => {
      if (shown && o.kind === 'published') say(describeTrainOutcome(o));
      if (o.kind === 'published') void startAb();
    },
    onIndex: (o) => {
      if (shown && !('detail' in o)) say(describeIndexOutcome(o));
    },
  });
  const { responder } = roles;
  await responder.started;
  const listed = (await (await fetch(`${responder.url}/v1/recommendations/u0?k=10`)).json()) as Listed;
  const catalog = responder.recommendations()!.catalog;
  const source =
    listed.fallback === null
      ? `${listed.model_version} with ${listed.index_version}`
      : `no personalised model (${listed.fallback}): popular items`;
  out.write(`\nu0's recommendations from the responder (${source}):\n`);
  listed.items.forEach((entry, i) => {
    const item = catalog.get(entry.item_id);
    out.write(
      `  ${String(i + 1).padStart(2)}. ${entry.item_id.padEnd(6)} ${entry.score.toFixed(3).padStart(7)}  ${item?.title ?? ''} [${item?.categories.join(', ') ?? ''}]\n`,
    );
  });
  out.write(
    `\n${responder.access.summary}\nserving on ${responder.url} — ask for more:\n  curl '${responder.url}/v1/recommendations/u1?k=5'\n  console: ${responder.url}/   metrics: ${responder.url}/metrics   readiness: ${responder.url}/readyz\nthe world goes on live; new model versions are printed as they come. Ctrl-C stops.\n`,
  );
  shown = true;
  await startAb();
  const users = ab.closedLoop(world, responder.url, signal);
  const ticker = drawStatus(roles, status, liveEvents);
  const figures = setInterval(() => {
    ab.figures(roles.online).then(
      (line) => line && say(line),
      () => undefined,
    );
  }, FIGURES_EVERY_MS);
  figures.unref();
  try {
    await roles.finished;
  } finally {
    clearInterval(ticker);
    clearInterval(figures);
    status.clear();
    await users.catch((error: unknown) => say(`closed-loop users stopped: ${(error as Error).message}`));
  }
}

/** Redraws the status line every second from the responder's own `/v1/status`. */
function drawStatus(roles: RunningRoles, status: StatusLine, liveEvents: () => number): NodeJS.Timeout {
  const counts = [liveEvents()];
  let drawing = false;
  const timer = setInterval(async () => {
    counts.push(liveEvents());
    if (counts.length > RATE_WINDOW + 1) counts.shift();
    if (drawing) return;
    drawing = true;
    try {
      const res = await roles.responder.app.inject({ method: 'GET', url: '/v1/status' });
      const s = res.json() as ConsoleStatus;
      const lag = s.applications.reduce((n, a) => n + (a.lag ?? 0), 0);
      const perSecond = (counts.at(-1)! - counts[0]!) / ((counts.length - 1) * (STATUS_EVERY_MS / 1000));
      status.draw({
        'events/s': Math.round(perSecond),
        lag,
        model: s.serving.model ?? 'none',
        requests: s.serving.requests,
      });
    } catch {
      // Closing: the responder is gone before the ticker is cleared.
    } finally {
      drawing = false;
    }
  }, STATUS_EVERY_MS);
  timer.unref();
  return timer;
}
