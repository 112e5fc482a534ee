/**
 * A simulated world's users served by a real responder: the platform's
 * responder started on loopback over its online store, the world's users
 * asking it for their home lists and reacting by their true tastes
 * (`sim/closed-loop/`), until `lists` lists were served; the served-list log
 * flushed and the responder closed before it returns. What was served, and
 * its truth, are then in the log and in `truthPath` for
 * `onlineReport`/`recstream eval --online`.
 *
 * The pace is the A/B test's: 24 visits at once, a visit 2,000× faster than
 * the open-loop world, at most 1,000 requests a second — each user comes
 * back several times within the run, so what they were shown earlier shapes
 * what they are shown next. Before each list a user waits (up to 30 s) until
 * the `features` application has folded what they did so far into their
 * view, so that the lists, and the truth of the run, do not depend on how
 * busy the machine is (`staleViews` counts the waits that ran out). For the
 * same reason the run starts only once the applications serving reads have
 * caught up with the log: a run that follows another (the A/B test, then
 * an exploration phase) starts from every view of what came before, not
 * from however far the last run's processing got.
 *
 * @example
 * ```ts
 * const summary = await serveClosedLoop(platform, { world: CLOSED_LOOP_WORLD, lists: 8000, truthPath, runId: 'ab' });
 * summary.served; summary.expectedClicks / summary.impressions;
 * ```
 */
import { startResponder } from '../../app/responder.js';
import { openServingStore, type ServingStore } from '../../app/serving-store.js';
import { sleep } from '../../runtime/retry.js';
import type { Platform } from '../../schemas/platform.js';
import type { ClickModel } from '../../sim/click-models.js';
import { type ClosedLoopSummary, runClosedLoop } from '../../sim/closed-loop/closed-loop.js';
import type { SimulationOptions } from '../../sim/options.js';
import { World } from '../../sim/world.js';

/**
 * A world with room for the model to matter: with 400 users the two halves
 * of a 50/50 split differ in their users' mix by as much as a model's lead,
 * and over 150 items the popularity list is hard to beat.
 */
export const CLOSED_LOOP_WORLD = { users: 1000, items: 600, events: 60_000, days: 4, seed: 9 } as const;

/** The most a user waits for their view to hold what they did before asking for a list. */
const FRESH_VIEWS_MS = 30_000;
/** The most a run waits for the applications serving reads to catch up with the log before its first list. */
const CATCH_UP_MS = 600_000;

export interface ServeClosedLoopOptions {
  /** The world the data dir was simulated from (its shape and seed). */
  readonly world: SimulationOptions;
  /** Served lists to stop after. */
  readonly lists: number;
  readonly truthPath: string;
  /**
   * The run's name in its request and event ids (letters and digits): a rerun of the same seed
   * under the same name draws the same exploration; each run on one log needs its own.
   */
  readonly runId: string;
  /** The most the run may take; default 20 minutes (a bound on a run that hangs, not its pace). */
  readonly durationMs?: number;
  /** How the users pick from a list (sim/click-models.ts); default `choice`. */
  readonly clickModel?: ClickModel;
}

export async function serveClosedLoop(
  platform: Platform,
  options: ServeClosedLoopOptions,
): Promise<ClosedLoopSummary> {
  const serving = await openServingStore(platform);
  try {
    const responder = await startResponder(platform, { online: serving.online, service: { pollMs: 10 } });
    try {
      await responder.started;
      await caughtUp(serving, CATCH_UP_MS);
      const summary = await runClosedLoop({
        world: new World(options.world),
        responder: responder.url,
        durationMs: options.durationMs ?? 1_200_000,
        maxRequests: options.lists,
        rate: 1000,
        visits: 24,
        speed: 2000,
        truthPath: options.truthPath,
        clickModel: options.clickModel,
        freshViewsMs: FRESH_VIEWS_MS,
        runId: options.runId,
      });
      await responder.recommendations()!.served.flush();
      return summary;
    } finally {
      await responder.close();
    }
  } finally {
    await serving.close();
  }
}

/** Waits until every application the serving store runs in this process has read its inputs to their end. */
async function caughtUp(serving: ServingStore, timeoutMs: number): Promise<void> {
  const runners = [...(serving.runners?.values() ?? [])];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let drained = true;
    for (const runner of runners) if (!(await runner.drained())) drained = false;
    if (drained) return;
    if (Date.now() > deadline)
      throw new Error(
        `closed loop: the serving applications did not catch up with the log within ${timeoutMs} ms`,
      );
    await sleep(50);
  }
}
