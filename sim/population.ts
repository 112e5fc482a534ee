/**
 * The simulated users. Only what sampling needs is kept for every user (a
 * country byte and, per country, an alias table over heavy-tailed activity
 * levels: about 9 bytes a user, so a million users cost ~10 MB); the rest of
 * a user — traits (age, device, language, opt-out) and tastes (favourite
 * categories, drift) — is derived on demand from generators seeded by
 * (seed, user index), so it is the same
 * every time it is asked for and costs no memory between sessions.
 *
 * Users `u0 … u{initialCount-1}` exist when the simulation starts; the rest
 * sign up one after another across the span, in id order. u0, the user a
 * person asks about first, is always among the most active 1%.
 *
 * @example
 * ```ts
 * const population = new Population(options, latent);
 * const profile = population.profile(0);                 // u0
 * const taste = population.taste(population.tasteModel(profile), options.start); // unit vector
 * ```
 */

import { Rng } from '../lib/random.js';
import type { User } from '../schemas/generated/types.js';
import { AliasTable } from './alias.js';
import { addScaled, type LatentSpace, normalize, randomUnit } from './latent.js';
import type { ResolvedSimulation } from './options.js';
import { STREAM } from './streams.js';
import {
  AGE_BUCKETS,
  AGE_SHARE,
  AGE_TILT,
  AGE_UNDISCLOSED,
  CATEGORIES,
  COUNTRIES,
  DEVICE_SHARE,
  ITEM_LANGUAGES,
} from './vocabulary.js';

/** Share of users who exist when the simulation starts; the rest sign up during it. */
const INITIAL_USER_SHARE = 0.8;
/** Share of users who opted out of personalisation. */
const OPT_OUT_SHARE = 0.01;
/** Share of users whose taste drifts towards another category across the span. */
const DRIFTING_USER_SHARE = 0.4;
/** Pareto shape of activity levels: a few users account for a large share of sessions. */
const ACTIVITY_ALPHA = 1.3;
const ACTIVITY_CAP = 300;
/** u0's activity level is this percentile of everyone's. */
const DEMO_USER_PERCENTILE = 0.99;
const YEAR_MS = 365.25 * 86_400_000;
const COUNTRY_SHARES = COUNTRIES.map((c) => c.share);
const CATEGORY_SHARES = CATEGORIES.map((c) => c.share);

export interface UserProfile {
  readonly index: number;
  readonly id: string;
  readonly country: number;
  readonly language: string;
  /** Index of `language` in ITEM_LANGUAGES, for the language-match term of preference. */
  readonly languageIndex: number;
  readonly ageBucket: string | null;
  readonly signupTs: number;
  readonly optOut: boolean;
  /** Index into DEVICES of the device most sessions use. */
  readonly device: number;
  /** Mean number of requests (slates looked at) per session. */
  readonly requestsPerSession: number;
}

/** What a user likes, and how that changes across the span. */
export interface TasteModel {
  /** Favourite categories, most liked first. */
  readonly favourites: readonly number[];
  /** Taste at the start of the span (unit vector). */
  readonly base: Float32Array;
  /** Change of taste across the whole span, or null for users whose taste stays put. */
  readonly drift: Float32Array | null;
}

export class Population {
  readonly count: number;
  readonly initialCount: number;
  readonly country: Uint8Array;
  /** Per country: draws a user index by activity level. */
  readonly byCountry: readonly (AliasTable | undefined)[];
  /** Users per country. */
  readonly countryCounts: readonly number[];

  constructor(
    private readonly options: ResolvedSimulation,
    private readonly latent: LatentSpace,
  ) {
    const n = options.users;
    this.count = n;
    this.initialCount = Math.max(1, Math.round(n * INITIAL_USER_SHARE));
    this.country = new Uint8Array(n);
    const activity = new Float32Array(n);
    const counts = new Array<number>(COUNTRIES.length).fill(0);
    for (let u = 0; u < n; u++) {
      const rng = Rng.derive(options.seed, STREAM.userTraits, u);
      const c = rng.pick(COUNTRY_SHARES);
      this.country[u] = c;
      counts[c]!++;
      activity[u] = Math.min(ACTIVITY_CAP, rng.pareto(ACTIVITY_ALPHA));
    }
    // u0 is the user people and tests ask about first (`recstream demo`), so it is an active one.
    activity[0] = activity.slice().sort()[Math.floor(n * DEMO_USER_PERCENTILE)]!;
    this.countryCounts = counts;
    this.byCountry = COUNTRIES.map((_, c) => {
      if (counts[c] === 0) return undefined;
      const members = new Int32Array(counts[c]!);
      const weights = new Float32Array(counts[c]!);
      let k = 0;
      for (let u = 0; u < n; u++) {
        if (this.country[u] !== c) continue;
        members[k] = u;
        weights[k++] = activity[u]!;
      }
      return new AliasTable(weights, members);
    });
  }

  /** Sign-up time: before the start for initial users, spread evenly across the span for the rest. */
  signupTs(user: number): number {
    if (user < this.initialCount) {
      const rng = Rng.derive(this.options.seed, STREAM.userSignup, user);
      return this.options.start - 86_400_000 - Math.round(rng.next() * 4 * YEAR_MS);
    }
    const later = this.count - this.initialCount;
    return Math.round(this.options.start + ((user - this.initialCount + 0.5) / later) * this.options.spanMs);
  }

  /** The user's traits (what `rec.users` says about them, and how they use the service). */
  profile(user: number): UserProfile {
    const rng = Rng.derive(this.options.seed, STREAM.userTraits, user);
    // Same first draws as the constructor, so country and activity agree with the sampling tables.
    rng.pick(COUNTRY_SHARES);
    rng.pareto(ACTIVITY_ALPHA);
    const country = this.country[user]!;
    const language = rng.next() < 0.9 ? COUNTRIES[country]!.language : 'en';
    const ageBucket = rng.next() < AGE_UNDISCLOSED ? null : AGE_BUCKETS[rng.pick(AGE_SHARE)]!;
    return {
      index: user,
      id: `u${user}`,
      country,
      language,
      languageIndex: ITEM_LANGUAGES.indexOf(language),
      ageBucket,
      signupTs: this.signupTs(user),
      optOut: rng.next() < OPT_OUT_SHARE,
      device: rng.pick(DEVICE_SHARE),
      requestsPerSession: 1 + Math.min(30, rng.exponential(4)),
    };
  }

  /** The user's tastes: favourite categories (leaning on their age bucket), start taste and drift. */
  tasteModel(profile: UserProfile): TasteModel {
    const { latent } = this;
    const rng = Rng.derive(this.options.seed, STREAM.userTaste, profile.index);
    const tilt = profile.ageBucket === null ? undefined : AGE_TILT[profile.ageBucket];
    const weights =
      tilt === undefined ? CATEGORY_SHARES : CATEGORIES.map((c) => c.share * (tilt[c.name] ?? 1));
    const favourites: number[] = [];
    const howMany = 1 + Math.min(3, Math.floor(rng.exponential(0.9)));
    while (favourites.length < howMany) {
      const c = rng.pick(weights);
      if (!favourites.includes(c)) favourites.push(c);
    }
    const base = new Float32Array(latent.dims);
    for (let rank = 0; rank < favourites.length; rank++)
      addScaled(base, latent.centroid(favourites[rank]!), 1 / (1 + 0.6 * rank));
    addScaled(base, randomUnit(rng, new Float32Array(latent.dims)), 0.45);
    normalize(base);
    let drift: Float32Array | null = null;
    if (rng.next() < DRIFTING_USER_SHARE) {
      let target = rng.pick(weights);
      if (favourites.includes(target)) target = rng.int(CATEGORIES.length);
      drift = new Float32Array(latent.dims);
      addScaled(drift, latent.centroid(target), 0.4 + 0.8 * rng.next());
    }
    return { favourites, base, drift };
  }

  /** The user's taste at time t: the start taste moved along the drift by the elapsed share of the span. */
  taste(model: TasteModel, t: number, out = new Float32Array(this.latent.dims)): Float32Array {
    out.set(model.base);
    if (model.drift !== null) {
      const elapsed = Math.min(1, Math.max(0, (t - this.options.start) / this.options.spanMs));
      addScaled(out, model.drift, elapsed);
      normalize(out);
    }
    return out;
  }

  /** The user as a `rec.users` value. */
  record(profile: UserProfile, updatedTs: number): User {
    return {
      user_id: profile.id,
      country: COUNTRIES[profile.country]!.code,
      language: profile.language,
      age_bucket: profile.ageBucket,
      signup_ts: profile.signupTs,
      opt_out: profile.optOut,
      updated_ts: updatedTs,
    };
  }
}
