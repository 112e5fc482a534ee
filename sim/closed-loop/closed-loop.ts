/**
 * Closed-loop simulation: the seeded world's users visit, and on their home
 * surface ask a responder for their recommendations and respond to what it
 * served through the simulator's own behaviour model (position bias, their
 * true preference, popularity, fatigue for items shown again in the visit,
 * and a click model: a choice among the list, or a top-down cascade),
 * posting impressions, clicks and watches that carry the list's
 * `request_id`. On their other surfaces (search, an item's page, autoplay)
 * they browse on their own, as in an open-loop simulation, so the platform
 * still learns from organic events. Each served list's true click
 * probabilities go to a truth log beside the events.
 *
 * Time: a visit runs on the real clock, its own pace `speed` times faster
 * than the open-loop world (a minute of browsing in a second at 60), so a
 * run of minutes holds many visits; event times are real times. Requests to
 * the responder are capped at `rate` per second (a token bucket) and the run
 * ends after `durationMs` or `maxRequests`.
 *
 * Reproducible given the same served lists: each visit draws from its own
 * generator, derived from the seed and the visit's number, so the
 * responder's answers, not the timing of concurrent visits, decide what
 * each user does. The visit's own clock does not count the time a list
 * took to arrive: at 2,000× a 10 ms answer would be 20 s of browsing, so a
 * slower responder (or a busier machine) would end visits sooner and change
 * how often a list is seen again. The wait only delays the visit on the
 * real clock, so its events still come after the list that caused them.
 *
 * @example
 * ```ts
 * const summary = await runClosedLoop({ world, responder: 'http://127.0.0.1:8080', durationMs: 60_000,
 *   rate: 50, truthPath: 'data/closed-loop/truth.jsonl' });
 * summary.served; summary.expectedClicks / summary.impressions; // the true click-through of what was served
 * ```
 */
import { randomUUID } from 'node:crypto';
import { CLICK_THROUGH } from '../../features/math/interactions.js';
import { Rng } from '../../lib/random.js';
import type { Interaction, InteractionContext } from '../../schemas/generated/types.js';
import { Behaviour } from '../behaviour.js';
import type { ClickModel } from '../click-models.js';
import type { Session } from '../session.js';
import { STREAM } from '../streams.js';
import type { World } from '../world.js';
import { FreshViews, type StaleView } from './fresh-views.js';
import { Outbox } from './outbox.js';
import { TruthLog } from './truth-log.js';

export interface ClosedLoopOptions {
  readonly world: World;
  /** Base URL of the responder, e.g. http://127.0.0.1:8080. */
  readonly responder: string;
  readonly durationMs: number;
  /** Most requests per second sent to the responder. */
  readonly rate: number;
  readonly truthPath: string;
  /** Stop after this many served lists. */
  readonly maxRequests?: number;
  /** Visits under way at once; default 16. */
  readonly visits?: number;
  /** Items asked for per request (at most 8); default 6, the home surface's slate. */
  readonly k?: number;
  /** How much faster than the open-loop world a visit goes; default 60. */
  readonly speed?: number;
  /** How users pick from a list (sim/click-models.ts); default `choice`. The truth is computed under it. */
  readonly clickModel?: ClickModel;
  /**
   * Before each home request, wait up to this long for the responder's view of the user to hold
   * everything the run made them do so far (./fresh-views.ts), so that what is served does not
   * depend on the machine's load; off unless given. Needs the responder's
   * `GET /v1/users/:userId/history`.
   */
  readonly freshViewsMs?: number;
  /**
   * The run's name in its request, session and event ids (`cl-<runId>-v<visit>r<request>`), letters
   * and digits; default a random one. The same name gives the same ids, so a rerun of the same
   * seed draws the same exploration (the responder draws it from the request id); two runs on
   * one log need different names, since an event id seen before is dropped as a repeat.
   */
  readonly runId?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ClosedLoopSummary) => void;
}

export interface ClosedLoopSummary {
  /** Lists the responder served and users responded to. */
  served: number;
  /** Requests on other surfaces, answered by the simulator's own slates. */
  organic: number;
  /** Items shown in served lists. */
  impressions: number;
  /** Clicked-through exposures of served lists (`CLICK_THROUGH` events, once per list and item). */
  clicks: number;
  /** Sum of the served lists' true click probabilities. */
  expectedClicks: number;
  /** Events accepted by the responder. */
  posted: number;
  /** Requests the responder failed (non-200), which the visit skipped. */
  failed: number;
  /** Home requests made after `freshViewsMs` passed without the view holding what the user did. */
  staleViews: number;
  /** The users of those requests, each with what the run made them do and what their view held. */
  staleUsers: StaleView[];
  visits: number;
}

const ITEM_ID = /^i(\d+)$/;

class TokenBucket {
  private tokens = 1;
  private last = Date.now();
  constructor(private readonly perSecond: number) {}

  async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(
        Math.max(1, this.perSecond / 10),
        this.tokens + ((now - this.last) / 1000) * this.perSecond,
      );
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(((1 - this.tokens) / this.perSecond) * 1000);
    }
  }
}

/**
 * A visit's world time against the real clock: it starts at the visit's
 * real start and runs `speed` times faster, shifted later by the time its
 * lists took to arrive, which the visit's world time does not count.
 */
class VisitClock {
  private lagMs = 0;
  constructor(
    private readonly startReal: number,
    private readonly speed: number,
  ) {}

  /** The real time at which world time `worldTs` of the visit happens. */
  toReal(worldTs: number): number {
    return Math.ceil(this.startReal + this.lagMs + (worldTs - this.startReal) / this.speed);
  }

  /** The list asked for at world time `worldTs` arrived at real time `realTs`: the visit resumes from there. */
  arrived(worldTs: number, realTs: number): void {
    this.lagMs += Math.max(0, realTs - this.toReal(worldTs));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

interface Served {
  readonly items: { item_id: string }[];
  readonly model_version: string | null;
  readonly fallback: string | null;
  readonly experiment_id?: string | null;
  readonly variant?: string | null;
}

/**
 * Runs a closed-loop simulation against a responder until its duration,
 * its request budget or the signal ends it; posts what is still held and
 * returns the summary.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopSummary> {
  const { world } = options;
  const k = Math.min(options.k ?? 6, 8);
  const speed = options.speed ?? 60;
  const clickModel = options.clickModel ?? 'choice';
  const runId = options.runId ?? randomUUID().slice(0, 8);
  if (!/^[A-Za-z0-9]{1,32}$/.test(runId))
    throw new RangeError(`runId must be 1-32 letters and digits, got ${JSON.stringify(runId)}`);
  const summary: ClosedLoopSummary = {
    served: 0,
    organic: 0,
    impressions: 0,
    clicks: 0,
    expectedClicks: 0,
    posted: 0,
    failed: 0,
    staleViews: 0,
    staleUsers: [],
    visits: 0,
  };
  const end = Date.now() + options.durationMs;
  const budget = options.maxRequests ?? Number.POSITIVE_INFINITY;
  const outbox = new Outbox(options.responder);
  const bucket = new TokenBucket(options.rate);
  const truth = await TruthLog.open(options.truthPath, {
    seed: world.options.seed,
    users: world.options.users,
    items: world.options.items,
    k,
    speed,
    click_model: clickModel,
  });
  const catalogSize = world.catalog.ids.length;
  const countryWeights = world.population.countryCounts;
  const running = () =>
    !options.signal?.aborted && postFailure === undefined && Date.now() < end && summary.served < budget;

  // A post the responder refused ends the run (its error is thrown at the end); one that fails
  // because the run was stopped and the responder went away first is not an error.
  let postFailure: unknown;
  const stopped = () => options.signal?.aborted === true;
  const noteFailure = (error: unknown) => {
    if (!stopped()) postFailure ??= error;
  };
  let flushing = Promise.resolve();
  const flushDue = (): Promise<void> => {
    flushing = flushing
      .then(() => (postFailure === undefined ? outbox.flushDue(Date.now()) : undefined))
      .catch(noteFailure);
    return flushing;
  };
  const flusher = setInterval(flushDue, 100);
  const views =
    options.freshViewsMs === undefined ? undefined : new FreshViews(options.responder, options.freshViewsMs);
  /** Waits for the view of the visit's user to hold all the run made them do (when it is waited for). */
  const awaitView = async (userId: string): Promise<void> => {
    if (views === undefined) return;
    await flushDue();
    if (!(await views.fresh(userId))) summary.staleViews++;
  };
  const progress = setInterval(() => {
    summary.posted = outbox.posted;
    options.onProgress?.({ ...summary });
  }, 1000);

  const serve = async (
    behaviour: Behaviour,
    clock: VisitClock,
    s: Session,
    seq: number,
    n: number,
    t: number,
  ): Promise<Float64Array | undefined> => {
    const requestId = `cl-${runId}-v${seq}r${n}`;
    const query = new URLSearchParams({
      k: String(k),
      surface: 'home',
      device: s.device,
      country: s.country,
    });
    await bucket.take();
    let response: Response;
    try {
      response = await fetch(`${options.responder}/v1/recommendations/${s.profile.id}?${query}`, {
        headers: { 'x-request-id': requestId },
      });
    } catch {
      // No answer (the responder restarting, or gone because the run was stopped): the visit goes
      // on without the list, as a user's app would.
      if (!stopped()) summary.failed++;
      return undefined;
    }
    if (response.status !== 200) {
      await response.text();
      summary.failed++;
      return undefined;
    }
    const body = (await response.json()) as Served;
    const ids: string[] = [];
    const items: number[] = [];
    for (const { item_id } of body.items) {
      const match = ITEM_ID.exec(item_id);
      const index = match === null ? -1 : Number(match[1]);
      if (index < 0 || index >= catalogSize) continue;
      ids.push(item_id);
      items.push(index);
    }
    const context: InteractionContext = {
      device: s.device,
      country: s.country,
      session_id: s.id,
      surface: 'home',
      request_id: requestId,
    };
    // The user sees the list once it arrived: their events come after the list was served.
    clock.arrived(t, Date.now());
    const p = behaviour.respondToServed(s, items, t, context);
    const expected = p.reduce((sum, x) => sum + x, 0);
    summary.served++;
    summary.impressions += items.length;
    summary.expectedClicks += expected;
    await truth.write({
      request_id: requestId,
      user_id: s.profile.id,
      ts: Date.now(),
      model_version: body.model_version,
      experiment_id: body.experiment_id ?? null,
      variant: body.variant ?? null,
      fallback: body.fallback,
      items: ids,
      p_click: Array.from(p, (x) => Math.round(x * 1e6) / 1e6),
      expected_clicks: Math.round(expected * 1e6) / 1e6,
    });
    return p;
  };
  const clicked = new Set<string>();
  let nextVisit = 0;
  const visit = async (): Promise<void> => {
    while (running()) {
      const seq = nextVisit++;
      const rng = Rng.derive(world.options.seed, STREAM.closedLoop, seq);
      const behaviour = new Behaviour(world, rng, `cl-${runId}-`, clickModel);
      const country = rng.pick(countryWeights);
      const table = world.population.byCountry[country];
      if (table === undefined) continue;
      const user = table.sample(rng);
      const startReal = Date.now();
      const clock = new VisitClock(startReal, speed);
      const s = behaviour.startSession(seq, user, startReal);
      s.shown = new Map();
      summary.visits++;
      await views?.visiting(s.profile.id);
      let n = 0;
      let eventNo = 0;
      while (running()) {
        const t = s.nextRequestTs;
        const surface = behaviour.nextSurface(s);
        if (surface === 'home') {
          await awaitView(s.profile.id);
          const served = await serve(behaviour, clock, s, seq, n++, t);
          if (served === undefined) behaviour.request(s, t, surface);
        } else {
          behaviour.request(s, t, surface);
          summary.organic++;
        }
        const events: Interaction[] = [];
        while (s.pending) {
          const event = s.shift();
          event.event_id = `cl-${runId}-v${seq}e${eventNo++}`;
          event.ts = clock.toReal(event.ts);
          if (CLICK_THROUGH.has(event.type) && event.context.request_id !== null)
            clicked.add(`${event.context.request_id}/${event.item_id}`);
          events.push(event);
        }
        summary.clicks = clicked.size;
        outbox.add(events);
        views?.added(s.profile.id, events.length);
        if (Number.isNaN(s.nextRequestTs)) break;
        await sleep(clock.toReal(s.nextRequestTs) - Date.now());
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.visits ?? 16 }, () => visit()));
  } finally {
    clearInterval(flusher);
    clearInterval(progress);
    await flushing;
    if (postFailure === undefined) await outbox.flushAll().catch(noteFailure);
    await truth.close();
  }
  if (postFailure !== undefined) throw postFailure;
  summary.posted = outbox.posted;
  summary.staleUsers = views?.staleUsers() ?? [];
  return summary;
}
