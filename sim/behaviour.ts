/**
 * How a simulated user behaves in a session. Each request shows a slate of
 * items on a surface (home rows, search results, an item's detail page,
 * autoplay after finishing something); the user examines positions with
 * decreasing probability (position bias), picks at most one by a softmax over
 * their true preference plus a bandwagon term (popularity bias) — or, under
 * the `cascade` click model (sim/click-models.ts), the first attractive one
 * scanning top-down — watches a
 * fraction that grows with how much they like it, and sometimes likes,
 * dislikes, rates, shares or saves. Slates are filled from categories the
 * user's taste leans to, from what is popular, from new releases and from
 * the long tail, so exposure is biased the way a real platform's is.
 *
 * Every draw is O(slate × dims): alias tables pick items, so the cost does
 * not grow with the catalog or the population.
 *
 * @example
 * ```ts
 * const behaviour = new Behaviour(world, Rng.derive(seed, STREAM.sessions), 'sim-1a2b3c4d-');
 * const visit = behaviour.startSession(0, 42, world.options.start); // u42 arrives
 * behaviour.request(visit, visit.nextRequestTs);                    // queues its first slate's events
 * ```
 */

import type { Rng } from '../lib/random.js';
import type { Interaction, InteractionContext, InteractionType } from '../schemas/generated/types.js';
import { type ClickModel, clickProbabilities, drawClick, EXAMINE } from './click-models.js';
import { dotRow } from './latent.js';
import { Session } from './session.js';
import { CATEGORIES, COUNTRIES, DEVICE_SHARE, DEVICES } from './vocabulary.js';
import type { World } from './world.js';

export type Surface = 'home' | 'search' | 'detail' | 'autoplay';

const SLATE_SIZE: Readonly<Record<Surface, number>> = { home: 6, search: 4, detail: 5, autoplay: 1 };
/** Weight of an item's standardised log-popularity in what users pick (not in what they like). */
const POPULARITY_BIAS = 0.35;
/** How sharply a user's taste steers which categories rows and searches come from. */
const CATEGORY_SHARPNESS = 3.5;
/** Items released within this window fill the "new releases" row. */
const NEW_RELEASE_MS = 21 * 86_400_000;
/**
 * Utility an item loses each time it was already shown in the visit, when
 * the session tracks what it was shown (closed-loop visits): a list that
 * repeats itself gets fewer clicks, as on a real platform.
 */
const FATIGUE = 0.4;
/** Visits end after this long whatever the user's appetite. */
const MAX_SESSION_MS = 5 * 3_600_000;
const ATTEMPTS = 6;

/** Watch fraction at or above which playback counts as complete, and below which as a skip. */
export const COMPLETE_FRACTION = 0.92;
export const SKIP_FRACTION = 0.15;

export class Behaviour {
  private readonly slate = new Int32Array(8);
  private readonly utility = new Float64Array(8);
  private readonly values = new Float64Array(8);
  private readonly categoryLogShare = CATEGORIES.map((c) => Math.log(c.share));

  constructor(
    private readonly world: World,
    private readonly rng: Rng,
    /** Prefix of session ids; unique per simulation so ids never collide across runs with other options. */
    private readonly idPrefix: string,
    /** How the user picks from a list (sim/click-models.ts); `choice` unless told. */
    private readonly clickModel: ClickModel = 'choice',
  ) {}

  /** A visit by `user` starting at `t`; its first request is at `t`. */
  startSession(seq: number, user: number, t: number): Session {
    const { population, latent } = this.world;
    const profile = population.profile(user);
    const taste = population.taste(population.tasteModel(profile), t);
    const cdf = new Float64Array(CATEGORIES.length);
    let sum = 0;
    for (let c = 0; c < CATEGORIES.length; c++) {
      sum += Math.exp(CATEGORY_SHARPNESS * dotRow(taste, latent.centroids, c) + this.categoryLogShare[c]!);
      cdf[c] = sum;
    }
    const device = this.rng.next() < 0.7 ? profile.device : this.rng.pick(DEVICE_SHARE, 1);
    return new Session(
      seq,
      profile,
      `${this.idPrefix}s${seq}`,
      DEVICES[device]!,
      COUNTRIES[profile.country]!.code,
      t,
      taste,
      cdf,
    );
  }

  /**
   * Decides the events of one request at `t` on `surface` (drawn when not
   * given) and queues them on the session, then sets when the next request
   * happens (NaN: the visit ends).
   */
  request(s: Session, t: number, surface: Surface = this.surface(s)): void {
    const rng = this.rng;
    s.requests++;
    const size = this.fillSlate(s, surface, t);
    const context: InteractionContext = {
      device: s.device,
      country: s.country,
      session_id: s.id,
      surface,
      request_id: null,
    };
    if (size === 0) {
      this.scheduleNext(s, t + 4000 + rng.exponential(12_000));
      return;
    }
    this.respond(s, size, t, context);
  }

  /**
   * A closed-loop request: the user looks at `items` (item indexes, in
   * served order, at most 8), which a responder chose, and responds to them
   * through the same behaviour as to the platform's own slates: impressions,
   * at most one click (position bias, true preference, popularity bias,
   * and fatigue for items already shown in the visit), what follows the
   * click, and when the next request comes.
   *
   * @returns each position's true click probability (the list's expected
   *   clicks are their sum), the ground truth of what was served
   */
  respondToServed(
    s: Session,
    items: readonly number[],
    t: number,
    context: InteractionContext,
  ): Float64Array {
    s.requests++;
    const size = Math.min(items.length, this.slate.length);
    for (let k = 0; k < size; k++) this.slate[k] = items[k]!;
    if (size === 0) {
      this.scheduleNext(s, t + 4000 + this.rng.exponential(12_000));
      return new Float64Array(0);
    }
    return this.respond(s, size, t, context);
  }

  /** The surface of the session's next request (drawn). */
  nextSurface(s: Session): Surface {
    return this.surface(s);
  }

  /**
   * The user's response to `this.slate[0, size)`; returns each position's
   * click probability.
   */
  private respond(s: Session, size: number, t: number, context: InteractionContext): Float64Array {
    const rng = this.rng;
    let last = t;
    const { slate, utility, values } = this;
    for (let k = 0; k < size; k++) {
      const item = slate[k]!;
      s.push(this.event(s, item, 'impression', t, null, null, context));
      utility[k] = this.world.preference(s.profile, s.taste, item);
      const fatigue = s.shown === undefined ? 0 : FATIGUE * (s.shown.get(item) ?? 0);
      values[k] = utility[k]! - fatigue + POPULARITY_BIAS * this.world.catalog.popularityZ[item]!;
    }
    if (s.shown !== undefined)
      for (let k = 0; k < size; k++) s.shown.set(slate[k]!, (s.shown.get(slate[k]!) ?? 0) + 1);
    const probabilities = new Float64Array(size);
    clickProbabilities(this.clickModel, values, size, probabilities);
    const chosen = drawClick(probabilities, size, rng.next());
    // Saving for later: an examined, well-liked item the user did not pick now.
    let saved = -1;
    for (let k = 0; k < size; k++) {
      if (k !== chosen && utility[k]! > 2.6 && rng.next() < 0.05 * EXAMINE[k]!) {
        saved = k;
        break;
      }
    }
    if (saved >= 0) {
      last = t + 2000;
      s.push(this.event(s, slate[saved]!, 'add_to_list', last, null, null, context));
    }
    if (chosen < 0) {
      s.lastCompleted = false;
      this.scheduleNext(s, last + 4000 + rng.exponential(12_000));
      return probabilities;
    }
    last = this.consume(
      s,
      slate[chosen]!,
      utility[chosen]!,
      t + 3000 + rng.exponential(6000) + 1500 * chosen,
      context,
    );
    this.scheduleNext(s, last + 2000 + rng.exponential(20_000));
    return probabilities;
  }

  /** Click, watch, and what the user says about it afterwards; returns the time of the last event. */
  private consume(s: Session, item: number, u: number, clickTs: number, context: InteractionContext): number {
    const rng = this.rng;
    const catalog = this.world.catalog;
    const click = Math.round(clickTs);
    s.push(this.event(s, item, 'click', click, null, null, context));
    let fraction = sigmoid(1.5 * (u - 1.6) + 0.8 * rng.normal());
    // Long films are abandoned more often than episodes and clips.
    if (catalog.format[item] === 0) fraction **= 1.3;
    if (fraction >= COMPLETE_FRACTION) fraction = 1;
    fraction = Math.round(fraction * 1000) / 1000;
    const watchMs = Math.max(1000, Math.round(fraction * catalog.durationS[item]! * 1000));
    const end = click + watchMs;
    s.push(this.event(s, item, 'view', end, fraction, watchMs, context));
    if (fraction >= COMPLETE_FRACTION)
      s.push(this.event(s, item, 'complete', end + 1, fraction, watchMs, context));
    else if (fraction < SKIP_FRACTION) s.push(this.event(s, item, 'skip', end + 1, null, watchMs, context));
    let last = end + 1;
    if (fraction >= 0.6 && rng.next() < 0.3 * sigmoid(u - 2)) {
      last = end + 2000;
      s.push(this.event(s, item, 'like', last, null, null, context));
    } else if (fraction < 0.3 && rng.next() < 0.2) {
      last = end + 2000;
      s.push(this.event(s, item, 'dislike', last, null, null, context));
    }
    if (rng.next() < 0.07) {
      last = end + 3000;
      const stars = Math.min(5, Math.max(1, Math.round(3 + 1.1 * (u - 1.8) + 0.7 * rng.normal())));
      s.push(this.event(s, item, 'rate', last, stars, null, context));
    }
    if (fraction >= COMPLETE_FRACTION && rng.next() < 0.04 * sigmoid(u - 2)) {
      last = end + 4000;
      s.push(this.event(s, item, 'share', last, null, null, context));
    }
    s.lastItem = item;
    s.lastCompleted = fraction >= COMPLETE_FRACTION;
    return last;
  }

  private scheduleNext(s: Session, at: number): void {
    const next = Math.round(at);
    const more = this.rng.next() >= 1 / s.profile.requestsPerSession;
    s.nextRequestTs = more && next - s.startTs < MAX_SESSION_MS ? next : Number.NaN;
  }

  private surface(s: Session): Surface {
    const rng = this.rng;
    if (s.lastCompleted && rng.next() < 0.5) return 'autoplay';
    const r = rng.next();
    if (r < 0.62 || (r >= 0.82 && s.lastItem < 0)) return 'home';
    return r < 0.82 ? 'search' : 'detail';
  }

  /** Fills `this.slate` for the surface with distinct items available at t; returns how many. */
  private fillSlate(s: Session, surface: Surface, t: number): number {
    const rng = this.rng;
    const catalog = this.world.catalog;
    const want = SLATE_SIZE[surface];
    const released = catalog.releasedBy(t);
    const freshFrom = Math.max(catalog.initialCount, catalog.releasedBy(t - NEW_RELEASE_MS));
    const followed = s.lastItem >= 0 ? catalog.category[s.lastItem]! : -1;
    const intent = surface === 'search' ? this.pickCategory(s) : -1;
    let size = 0;
    for (let slot = 0; slot < want; slot++) {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        let item: number;
        if (surface === 'search') item = catalog.byCategory[intent]!.sample(rng);
        else if (surface === 'autoplay' || (surface === 'detail' && slot < want - 1))
          item = catalog.byCategory[followed]!.sample(rng);
        else {
          const r = rng.next();
          if (r < 0.55) item = catalog.byCategory[this.pickCategory(s)]!.sample(rng);
          else if (r < 0.8 || released <= freshFrom) item = catalog.popular.sample(rng);
          else if (r < 0.9) item = freshFrom + rng.int(released - freshFrom);
          else item = rng.int(released);
        }
        if (item === s.lastItem || !catalog.isAvailableAt(item, t)) continue;
        let dup = false;
        for (let k = 0; k < size; k++) if (this.slate[k] === item) dup = true;
        if (dup) continue;
        this.slate[size++] = item;
        break;
      }
    }
    return size;
  }

  private pickCategory(s: Session): number {
    const cdf = s.categoryCdf;
    const x = this.rng.next() * cdf[cdf.length - 1]!;
    let c = 0;
    while (c < cdf.length - 1 && cdf[c]! <= x) c++;
    return c;
  }

  private event(
    s: Session,
    item: number,
    type: InteractionType,
    ts: number,
    value: number | null,
    watchMs: number | null,
    context: InteractionContext,
  ): Interaction {
    return {
      event_id: '',
      user_id: s.profile.id,
      item_id: this.world.catalog.ids[item]!,
      type,
      value,
      watch_ms: watchMs,
      ts,
      context,
    };
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
