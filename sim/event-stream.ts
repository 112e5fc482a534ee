/**
 * The scheduler behind `Simulator.stream()`: a pull cursor over one
 * time-ordered stream of catalog, user and interaction records.
 *
 * First the catalog and the users as they are at the start; then visits
 * start as a Poisson process whose intensity follows each country's local
 * diurnal and weekly rhythm, each by a user drawn by activity level among
 * those signed up and not already in a visit. Live visits sit in a heap by
 * the time of their next event, so records come out in event-time order
 * while only the live visits are in memory, however many events are asked
 * for. New items, retirements and sign-ups are emitted at their time, before
 * any event at or after it. In batch mode (no `rate`) the changes left in the
 * span when the events run out are emitted at the end, so every user and
 * item has a record.
 *
 * With `liveRate`, the stream does not end after `events`: the same world
 * (users, items, tastes, visits under way) goes on at the live rate. A
 * `LiveAnchor` puts that live phase on the real clock: every record is
 * moved by the anchor's `shift` (a history that ends where the clock is),
 * and from the anchor's interaction on by more where the clock is further
 * on (never back in time), while the world's own time goes on where it
 * was. A run that resumes an earlier live stream anchors at the count it
 * already wrote.
 *
 * `next()` returns the same record object each time, overwritten: the
 * hot path of a 10M-event run allocates only what the events themselves need.
 */

import { Rng } from '../lib/random.js';
import { ConfigError } from '../runtime/errors.js';
import type { Interaction, Item, User } from '../schemas/generated/types.js';
import { INTERACTIONS_TOPIC, ITEMS_TOPIC, USERS_TOPIC } from '../schemas/topics.js';
import { Behaviour } from './behaviour.js';
import type { Calibration } from './calibration.js';
import { SessionHeap } from './heap.js';
import { STREAM } from './streams.js';
import { COUNTRIES } from './vocabulary.js';
import type { World } from './world.js';

export type SimRecord =
  | { readonly topic: typeof ITEMS_TOPIC; readonly key: string; readonly value: Item; readonly ts: number }
  | { readonly topic: typeof USERS_TOPIC; readonly key: string; readonly value: User; readonly ts: number }
  | {
      readonly topic: typeof INTERACTIONS_TOPIC;
      readonly key: string;
      readonly value: Interaction;
      readonly ts: number;
    };

interface MutableRecord {
  topic: SimRecord['topic'];
  key: string;
  value: Item | User | Interaction;
  ts: number;
}

/** Where a live stream meets the real clock. */
export interface LiveAnchor {
  /** Interaction count (at least the simulation's `events`) from which records are on the clock. */
  readonly from: number;
  /** The wall clock, read once, when the stream reaches `from`. */
  readonly clock: () => number;
  /** Added to every record's event time from the start (see `Simulator.historyEnd`). Default 0. */
  readonly shift?: number;
}

/** Tries at drawing a user who is signed up and not already in a visit. */
const USER_ATTEMPTS = 16;

export class EventStream {
  /** Interaction events emitted so far. */
  emitted = 0;
  private readonly record: MutableRecord = { topic: ITEMS_TOPIC, key: '', value: null as never, ts: 0 };
  private readonly rng: Rng;
  private readonly behaviour: Behaviour;
  private readonly heap = new SessionHeap();
  private readonly active = new Set<number>();
  private readonly perCountry = new Float64Array(COUNTRIES.length);
  /** Visits per ms at rhythm factor 1 (the live rate's once the stream is live). */
  private visitRate: number;
  /** The dominating rate factor the pending candidate arrival was drawn with. */
  private bound: number;
  private readonly end: number;
  /** Where the ramp boost's age counts from: the start, then the start of the live phase. */
  private phaseStart: number;
  private initialItems = 0;
  private initialUsers = 0;
  private nextArrival: number;
  private released: number;
  private retired = 0;
  private signedUp: number;
  private nextRelease: number;
  private nextRetire: number;
  private nextSignup: number;
  private seq = 0;
  private frontier: number;
  private done = false;
  /** True once the `events` of the span are out and the live rate rules (only with `liveRate`). */
  private isLive = false;
  /** Added to every record's event time: the anchor's shift, then more from the anchor on. */
  private shift: number;
  private anchored = false;

  constructor(
    private readonly world: World,
    private readonly idPrefix: string,
    private readonly calibration: Calibration,
    private readonly anchor?: LiveAnchor,
  ) {
    const { options, catalog, population, rhythm } = world;
    this.shift = anchor?.shift ?? 0;
    if (anchor !== undefined && (options.liveRate === undefined || anchor.from < options.events))
      throw new ConfigError(
        `a live anchor needs a live rate and an interaction count of at least ${options.events}, got ${anchor.from}`,
      );
    this.rng = Rng.derive(options.seed, STREAM.sessions);
    this.behaviour = new Behaviour(world, this.rng, idPrefix);
    this.visitRate = options.density / calibration.meanEventsPerSession;
    this.bound = rhythm.peak * calibration.maxBoost;
    this.end = options.start + options.spanMs;
    this.frontier = options.start;
    this.phaseStart = options.start;
    this.nextArrival = options.start + this.rng.exponential(1 / (this.visitRate * this.bound));
    this.released = catalog.initialCount;
    this.signedUp = population.initialCount;
    this.nextRelease = this.releaseAt();
    this.nextRetire = this.retireAt();
    this.nextSignup = this.signupAt();
  }

  /** True once the stream is in its live phase. */
  get live(): boolean {
    return this.isLive;
  }

  /** The next record in event-time order, or undefined at the end. The object is reused by the next call. */
  next(): SimRecord | undefined {
    if (this.done) return undefined;
    const { catalog, population, options } = this.world;
    const start = options.start;
    if (this.initialItems < catalog.initialCount) {
      const i = this.initialItems++;
      return this.emit(
        ITEMS_TOPIC,
        catalog.ids[i]!,
        catalog.record(i, start, catalog.isAvailableAt(i, start)),
        start,
      );
    }
    if (this.initialUsers < population.initialCount) {
      const profile = population.profile(this.initialUsers++);
      return this.emit(USERS_TOPIC, profile.id, population.record(profile, start), start);
    }
    const events = options.events;
    const { heap, behaviour } = this;
    for (;;) {
      if (!this.isLive && options.liveRate !== undefined && this.emitted >= events)
        this.goLive(options.liveRate);
      if (this.anchor !== undefined && !this.anchored && this.emitted >= this.anchor.from) {
        this.shift = Math.max(this.shift, this.anchor.clock() - this.frontier);
        this.anchored = true;
      }
      const sessionKey = heap.peekKey();
      const more = this.isLive || this.emitted < events;
      if (!more && options.rate !== undefined) {
        this.done = true;
        return undefined;
      }
      // Past the last event, batch mode drains the changes left in the span, then stops.
      const due = more ? Math.min(sessionKey, this.nextArrival) : Math.max(this.frontier, this.end);
      // Catalog and profile changes due by then go first: a new item's record precedes its first impression.
      const { nextRelease, nextRetire, nextSignup } = this;
      if (nextRelease <= due && nextRelease <= nextRetire && nextRelease <= nextSignup) {
        const item = this.released++;
        this.nextRelease = this.releaseAt();
        const value = catalog.record(item, nextRelease, catalog.isAvailableAt(item, nextRelease));
        return this.emit(ITEMS_TOPIC, catalog.ids[item]!, value, nextRelease);
      }
      if (nextRetire <= due && nextRetire <= nextSignup) {
        const item = catalog.retirements[this.retired++]!;
        this.nextRetire = this.retireAt();
        return this.emit(
          ITEMS_TOPIC,
          catalog.ids[item]!,
          catalog.record(item, nextRetire, false),
          nextRetire,
        );
      }
      if (nextSignup <= due) {
        const profile = population.profile(this.signedUp++);
        this.nextSignup = this.signupAt();
        return this.emit(USERS_TOPIC, profile.id, population.record(profile, nextSignup), nextSignup);
      }
      if (!more) {
        this.done = true;
        return undefined;
      }
      if (this.nextArrival <= sessionKey) {
        this.arrive();
        continue;
      }
      const s = heap.peek()!;
      let event: Interaction | undefined;
      if (s.pending) {
        event = s.shift();
        event.event_id = `${this.idPrefix}e${this.emitted++}`;
        this.frontier = event.ts;
      } else {
        behaviour.request(s, s.nextRequestTs);
      }
      if (s.pending || !Number.isNaN(s.nextRequestTs)) heap.updateTop();
      else {
        heap.pop();
        this.active.delete(s.profile.index);
      }
      if (event !== undefined) return this.emit(INTERACTIONS_TOPIC, event.user_id, event, event.ts);
    }
  }

  /**
   * Visits now start at the live rate, from the last event on, with the ramp
   * boost of a stream's start: the span's few visits under way are next to
   * none at the live rate.
   */
  private goLive(liveRate: number): void {
    this.isLive = true;
    this.phaseStart = this.frontier;
    this.bound = this.world.rhythm.peak * this.calibration.maxBoost;
    this.visitRate = liveRate / 1000 / this.calibration.meanEventsPerSession;
    this.nextArrival = this.frontier + this.rng.exponential(1 / (this.visitRate * this.bound));
  }

  /**
   * A candidate visit drawn at the dominating rate, kept with probability
   * rate(t) / bound (thinning); rate(t) is the rhythm times the ramp boost of
   * the stream's first hours (see calibration.ts).
   */
  private arrive(): void {
    const { rng, world, perCountry, calibration } = this;
    const t = this.nextArrival;
    const age = t - this.phaseStart;
    const bound = this.bound;
    this.bound = world.rhythm.peak * (age < calibration.rampMs ? calibration.maxBoost : 1);
    this.nextArrival = t + rng.exponential(1 / (this.visitRate * this.bound));
    const factor = world.rhythm.intensities(t, perCountry);
    if (rng.next() * bound >= factor * calibration.rampBoost(age)) return;
    const table = world.population.byCountry[rng.pick(perCountry, factor)];
    if (table === undefined) return;
    for (let attempt = 0; attempt < USER_ATTEMPTS; attempt++) {
      const user = table.sample(rng);
      if (user < this.signedUp && !this.active.has(user)) {
        this.active.add(user);
        this.heap.push(this.behaviour.startSession(this.seq++, user, Math.round(t)));
        return;
      }
    }
  }

  private emit(
    topic: SimRecord['topic'],
    key: string,
    value: Item | User | Interaction,
    ts: number,
  ): SimRecord {
    const r = this.record;
    r.topic = topic;
    r.key = key;
    r.value = value;
    r.ts = ts + this.shift;
    const shift = this.shift;
    if (shift !== 0) {
      // Each value is made for this record alone: its own times move with it.
      if (topic === INTERACTIONS_TOPIC) (value as Interaction).ts += shift;
      else if (topic === USERS_TOPIC) {
        (value as User).updated_ts += shift;
        (value as User).signup_ts += shift;
      } else {
        const item = value as Item;
        item.updated_ts += shift;
        if (item.release_ts !== null) item.release_ts += shift;
      }
    }
    return r as SimRecord;
  }

  private releaseAt(): number {
    const catalog = this.world.catalog;
    return this.released < catalog.count ? catalog.releaseTs[this.released]! : Infinity;
  }

  private retireAt(): number {
    const catalog = this.world.catalog;
    return this.retired < catalog.retirements.length
      ? catalog.retireTs[catalog.retirements[this.retired]!]!
      : Infinity;
  }

  private signupAt(): number {
    const population = this.world.population;
    return this.signedUp < population.count ? population.signupTs(this.signedUp) : Infinity;
  }
}
