/**
 * Ground truth of a simulated world: each user's true preference over items
 * at a point in time — the quantity every simulated choice was drawn from —
 * so that model quality can be measured against what users actually like,
 * not only against the clicks that exposure and position let them make.
 *
 * `preference(u, i, t) = 3·dot(taste(u, t), vector(i)) + 0.6·quality(i) + language(u, i)`
 * where language is 0.5 when the item is in the user's language, 0.2 when
 * it is in English and the user's language is another, else 0; taste(u, t)
 * is the user's start taste moved along their drift by the elapsed share of
 * the span, normalised. Items not released by t, or retired, are not
 * available at t.
 *
 * `writeTruthFile` writes it as JSON lines (format `recstream-truth/1`):
 * a header line with the formula and options, one line per item
 * (`{"kind":"item","item_id","vector","quality","language","available"}`),
 * one per user (`{"kind":"user","user_id","language","signed_up","taste"}`,
 * plus `"top":[[item_id, score], …]` — the k most preferred available items
 * — when `top` > 0). From the vectors any preference can be recomputed; the
 * top lists cost users × items × dims to compute, so they are opt-in.
 *
 * @example
 * ```ts
 * const truth = new GroundTruth(new World({ seed: 7, users: 1000, items: 200 }));
 * truth.topItems(0, Date.UTC(2025, 0, 20), 10); // u0's ten favourite available items then
 * await writeTruthFile(truth, 'truth.jsonl', { at: Date.UTC(2025, 0, 20), top: 20 });
 * ```
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { UserProfile } from './population.js';
import { ITEM_LANGUAGES } from './vocabulary.js';
import { PREFERENCE_WEIGHTS, type World } from './world.js';

export const TRUTH_FORMAT = 'recstream-truth/1';

export interface ScoredItem {
  readonly item: number;
  readonly item_id: string;
  readonly score: number;
}

export class GroundTruth {
  constructor(readonly world: World) {}

  /** User index of `u123`-style ids (or the index itself). */
  userIndex(user: string | number): number {
    const index = typeof user === 'number' ? user : parseId(user, 'u');
    if (!Number.isInteger(index) || index < 0 || index >= this.world.population.count)
      throw new RangeError(
        `no simulated user ${JSON.stringify(user)} (users are u0 … u${this.world.population.count - 1})`,
      );
    return index;
  }

  /** Item index of `i123`-style ids (or the index itself). */
  itemIndex(item: string | number): number {
    const index = typeof item === 'number' ? item : parseId(item, 'i');
    if (!Number.isInteger(index) || index < 0 || index >= this.world.catalog.count)
      throw new RangeError(
        `no simulated item ${JSON.stringify(item)} (items are i0 … i${this.world.catalog.count - 1})`,
      );
    return index;
  }

  /** The user's taste vector at time t (unit length). */
  taste(user: string | number, at: number): Float32Array {
    const { population } = this.world;
    return population.taste(population.tasteModel(population.profile(this.userIndex(user))), at);
  }

  preference(user: string | number, item: string | number, at: number): number {
    const profile = this.world.population.profile(this.userIndex(user));
    return this.world.preference(profile, this.taste(profile.index, at), this.itemIndex(item));
  }

  /** The k items the user prefers most at t, best first; only items available at t unless told otherwise. */
  topItems(
    user: string | number,
    at: number,
    k: number,
    options: { availableOnly?: boolean } = {},
  ): ScoredItem[] {
    const profile = this.world.population.profile(this.userIndex(user));
    return this.topFor(profile, this.taste(profile.index, at), at, k, options.availableOnly ?? true);
  }

  private topFor(
    profile: UserProfile,
    taste: Float32Array,
    at: number,
    k: number,
    availableOnly: boolean,
  ): ScoredItem[] {
    const { catalog } = this.world;
    const items: number[] = [];
    const scores: number[] = [];
    if (k <= 0) return [];
    for (let i = 0; i < catalog.count; i++) {
      if (availableOnly && !catalog.isAvailableAt(i, at)) continue;
      const score = this.world.preference(profile, taste, i);
      if (items.length === k) {
        if (score <= scores[k - 1]!) continue;
        items.pop();
        scores.pop();
      }
      // Insertion into a short list kept sorted best first: k is small next to the catalog.
      let j = items.length;
      items.push(i);
      scores.push(score);
      while (j > 0 && scores[j - 1]! < score) {
        items[j] = items[j - 1]!;
        scores[j] = scores[j - 1]!;
        j--;
      }
      items[j] = i;
      scores[j] = score;
    }
    return items.map((item, r) => ({ item, item_id: catalog.ids[item]!, score: scores[r]! }));
  }

  /** Writes the truth at time `at` to `path` as JSON lines (see the module doc); returns the line counts. */
  async writeFile(
    path: string,
    options: { at: number; top?: number },
  ): Promise<{ users: number; items: number }> {
    const { world } = this;
    const { catalog, population, options: o } = world;
    const top = options.top ?? 0;
    const out = createWriteStream(path);
    const failed = once(out, 'error').then(([e]) => Promise.reject(e as Error));
    failed.catch(() => {});
    let chunk: string[] = [];
    const write = async (line: unknown) => {
      chunk.push(JSON.stringify(line));
      if (chunk.length < 1000) return;
      const ok = out.write(`${chunk.join('\n')}\n`);
      chunk = [];
      if (!ok) await Promise.race([once(out, 'drain'), failed]);
    };
    await write({
      format: TRUTH_FORMAT,
      at: options.at,
      preference:
        'taste * dot(taste_u(at), vector_i) + quality * quality_i + (language_u == language_i ? language : language_i == "en" ? english : 0)',
      weights: PREFERENCE_WEIGHTS,
      options: {
        seed: o.seed,
        users: o.users,
        items: o.items,
        events: o.events,
        days: o.days,
        start: o.start,
        dims: o.dims,
      },
      users: population.count,
      items: catalog.count,
      top,
    });
    for (let i = 0; i < catalog.count; i++) {
      await write({
        kind: 'item',
        item_id: catalog.ids[i],
        vector: rounded(catalog.vectors.subarray(i * o.dims, (i + 1) * o.dims)),
        quality: round5(catalog.quality[i]!),
        language: ITEM_LANGUAGES[catalog.language[i]!],
        available: catalog.isAvailableAt(i, options.at),
      });
    }
    for (let u = 0; u < population.count; u++) {
      const profile = population.profile(u);
      const taste = population.taste(population.tasteModel(profile), options.at);
      const line: Record<string, unknown> = {
        kind: 'user',
        user_id: profile.id,
        language: profile.language,
        signed_up: profile.signupTs <= options.at,
        taste: rounded(taste),
      };
      if (top > 0)
        line.top = this.topFor(profile, taste, options.at, top, true).map((s) => [
          s.item_id,
          round5(s.score),
        ]);
      await write(line);
    }
    if (chunk.length) out.write(`${chunk.join('\n')}\n`);
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    return { users: population.count, items: catalog.count };
  }
}

function parseId(id: string, prefix: string): number {
  return id.startsWith(prefix) && /^\d+$/.test(id.slice(1)) ? Number(id.slice(1)) : Number.NaN;
}

function round5(x: number): number {
  return Math.round(x * 1e5) / 1e5;
}

function rounded(v: Float32Array): number[] {
  return Array.from(v, round5);
}
