/**
 * The simulated catalog, as columns (one typed array per trait) so that
 * 100,000 items cost a few MB: categories, latent vector, quality,
 * long-tailed popularity, format and duration, language, maturity, release
 * time and, for some items, the time they go unavailable.
 *
 * Items `i0 … i{initialCount-1}` are in the catalog at the start; the rest
 * are released one after another across the simulated span, in id order, so
 * "released by time t" is an id range. Every trait is drawn from a
 * generator derived from (seed, item index), so an item is the same whatever
 * else the world holds.
 *
 * @example
 * ```ts
 * const catalog = new Catalog(resolveSimulation({ items: 1000 }), latent);
 * catalog.isAvailableAt(7, Date.UTC(2025, 0, 10)); // released and not retired
 * const item = catalog.record(7, catalog.releaseTs[7]!, true); // an `Item` value
 * ```
 */

import { Rng } from '../lib/random.js';
import type { Item } from '../schemas/generated/types.js';
import { AliasTable } from './alias.js';
import { addScaled, type LatentSpace, normalize, randomUnit } from './latent.js';
import type { ResolvedSimulation } from './options.js';
import { STREAM } from './streams.js';
import {
  CATEGORIES,
  FORMAT_MINUTES,
  FORMATS,
  ITEM_LANGUAGE_SHARE,
  ITEM_LANGUAGES,
  MATURITIES,
  TITLE_ADJECTIVES,
  TITLE_NOUNS,
} from './vocabulary.js';

/** Share of items in the catalog when the simulation starts; the rest are released during it. */
const INITIAL_ITEM_SHARE = 0.85;
/** Share of items that go unavailable at some point of the span (licences running out). */
const RETIRING_ITEM_SHARE = 0.06;
/** Spread of log-popularity: lognormal with this sigma puts about a third of exposure on the top 1%. */
const POPULARITY_SIGMA = 1.8;
const YEAR_MS = 365.25 * 86_400_000;

export class Catalog {
  readonly count: number;
  readonly initialCount: number;
  readonly ids: readonly string[];
  readonly category: Uint8Array;
  /** Second category, or -1. */
  readonly secondary: Int16Array;
  /** Unit vectors, row-major, `dims` per item. */
  readonly vectors: Float32Array;
  /** Standard-normal quality: better items are liked more by everyone. */
  readonly quality: Float32Array;
  /** Exposure weight: how often the platform shows the item. Long-tailed. */
  readonly popularity: Float64Array;
  /** log(popularity) standardised to mean 0, sd 1: the bandwagon term of behaviour. */
  readonly popularityZ: Float32Array;
  readonly format: Uint8Array;
  readonly durationS: Int32Array;
  readonly language: Uint8Array;
  readonly maturity: Uint8Array;
  readonly releaseTs: Float64Array;
  /** When the item goes unavailable; Infinity for never. */
  readonly retireTs: Float64Array;
  /** Items that retire during the span, in retirement order. */
  readonly retirements: Int32Array;
  /** Per primary category: draws an item by popularity. */
  readonly byCategory: readonly AliasTable[];
  /** Draws any item by popularity. */
  readonly popular: AliasTable;

  constructor(
    private readonly options: ResolvedSimulation,
    latent: LatentSpace,
  ) {
    const n = options.items;
    const dims = latent.dims;
    this.count = n;
    this.initialCount = Math.max(1, Math.round(n * INITIAL_ITEM_SHARE));
    this.ids = Array.from({ length: n }, (_, i) => `i${i}`);
    this.category = new Uint8Array(n);
    this.secondary = new Int16Array(n);
    this.vectors = new Float32Array(n * dims);
    this.quality = new Float32Array(n);
    this.popularity = new Float64Array(n);
    this.popularityZ = new Float32Array(n);
    this.format = new Uint8Array(n);
    this.durationS = new Int32Array(n);
    this.language = new Uint8Array(n);
    this.maturity = new Uint8Array(n);
    this.releaseTs = new Float64Array(n);
    this.retireTs = new Float64Array(n);
    const shares = CATEGORIES.map((c) => c.share);
    const noise = new Float32Array(dims);
    const end = options.start + options.spanMs;
    const newItems = n - this.initialCount;
    for (let i = 0; i < n; i++) {
      const rng = Rng.derive(options.seed, STREAM.itemTraits, i);
      const primary = rng.pick(shares);
      const second = rng.next() < 0.35 ? rng.int(CATEGORIES.length) : -1;
      const secondary = second === primary ? -1 : second;
      this.category[i] = primary;
      this.secondary[i] = secondary;
      const v = this.vectors.subarray(i * dims, (i + 1) * dims);
      v.set(latent.centroid(primary));
      if (secondary >= 0) addScaled(v, latent.centroid(secondary), 0.45);
      addScaled(v, randomUnit(rng, noise), 0.6);
      normalize(v);
      const quality = rng.normal();
      this.quality[i] = quality;
      const logPopularity = POPULARITY_SIGMA * rng.normal() + 0.4 * quality;
      this.popularity[i] = Math.exp(logPopularity);
      this.popularityZ[i] = logPopularity;
      const cat = CATEGORIES[primary]!;
      const format = rng.pick(cat.formats);
      this.format[i] = format;
      const [lo, hi] = FORMAT_MINUTES[FORMATS[format]!];
      this.durationS[i] = Math.round((lo + rng.next() * (hi - lo)) * 60);
      this.language[i] = rng.pick(ITEM_LANGUAGE_SHARE);
      this.maturity[i] = rng.pick(cat.maturity);
      this.releaseTs[i] =
        i < this.initialCount
          ? options.start - Math.round(rng.exponential(3 * YEAR_MS)) - 86_400_000
          : Math.round(options.start + ((i - this.initialCount + 0.5) / newItems) * options.spanMs);
      const from = Math.max(this.releaseTs[i]!, options.start);
      this.retireTs[i] =
        rng.next() < RETIRING_ITEM_SHARE ? Math.round(from + rng.next() * (end - from)) : Infinity;
    }
    standardise(this.popularityZ);
    this.retirements = Int32Array.from(
      [...this.retireTs.keys()]
        .filter((i) => Number.isFinite(this.retireTs[i]))
        .sort((a, b) => this.retireTs[a]! - this.retireTs[b]! || a - b),
    );
    const members: number[][] = CATEGORIES.map(() => []);
    for (let i = 0; i < n; i++) members[this.category[i]!]!.push(i);
    this.byCategory = members.map((list) =>
      // A category no item drew (tiny catalogs) falls back to the whole catalog.
      list.length === 0
        ? new AliasTable(this.popularity)
        : new AliasTable(
            list.map((i) => this.popularity[i]!),
            Int32Array.from(list),
          ),
    );
    this.popular = new AliasTable(this.popularity);
  }

  /** How many items are released by time t: items `[0, releasedBy(t))`, since release order is id order. */
  releasedBy(t: number): number {
    let lo = this.initialCount;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.releaseTs[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Released by `t` and not yet gone. Items released later have higher ids. */
  isAvailableAt(item: number, t: number): boolean {
    return this.releaseTs[item]! <= t && t < this.retireTs[item]!;
  }

  /** The item as a `rec.items` value; title and tags are derived from the item's own generator. */
  record(item: number, updatedTs: number, available: boolean): Item {
    const rng = Rng.derive(this.options.seed, STREAM.itemText, item);
    const primary = CATEGORIES[this.category[item]!]!;
    const secondary = this.secondary[item]!;
    const format = FORMATS[this.format[item]!]!;
    const name = `The ${TITLE_ADJECTIVES[rng.int(TITLE_ADJECTIVES.length)]} ${TITLE_NOUNS[rng.int(TITLE_NOUNS.length)]}`;
    const title =
      format === 'episode'
        ? `${name}: Episode ${1 + rng.int(12)}`
        : format === 'clip'
          ? `${name} (clip)`
          : name;
    const tags = [format, primary.tags[rng.int(primary.tags.length)]!];
    if (rng.next() < 0.5) {
      const extra = primary.tags[rng.int(primary.tags.length)]!;
      if (!tags.includes(extra)) tags.push(extra);
    }
    return {
      item_id: this.ids[item]!,
      title,
      categories: secondary >= 0 ? [primary.name, CATEGORIES[secondary]!.name] : [primary.name],
      tags,
      language: ITEM_LANGUAGES[this.language[item]!]!,
      duration_s: this.durationS[item]!,
      release_ts: this.releaseTs[item]!,
      maturity: MATURITIES[this.maturity[item]!]!,
      available,
      updated_ts: updatedTs,
    };
  }
}

function standardise(values: Float32Array): void {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2;
  const sd = Math.sqrt(variance / values.length) || 1;
  for (let i = 0; i < values.length; i++) values[i] = (values[i]! - mean) / sd;
}
