/**
 * A simulated world: the options it was made from, the latent taste space,
 * the catalog, the population and the rhythm of the day. Building one is
 * deterministic in its options; it holds no events.
 *
 * `preference` is the ground truth every behaviour is drawn from: how much a
 * user with a given taste likes an item, whatever the platform showed them.
 * Exposure (popularity, position) biases what users do, not what they like.
 *
 * @example
 * ```ts
 * const world = new World({ seed: 7, users: 1000, items: 200 });
 * const u0 = world.population.profile(0);
 * const taste = world.population.taste(world.population.tasteModel(u0), world.options.start);
 * world.preference(u0, taste, 3); // higher: liked more
 * ```
 */
import { Catalog } from './catalog.js';
import { dotRow, LatentSpace } from './latent.js';
import { type ResolvedSimulation, resolveSimulation, type SimulationOptions } from './options.js';
import { Population, type UserProfile } from './population.js';
import { Rhythm } from './rhythm.js';
import { CATEGORIES, ITEM_LANGUAGES } from './vocabulary.js';

/**
 * The terms of the true preference:
 * `taste * dot(taste, vector) + quality * quality_i + (same language ? language : item in English ? english : 0)`.
 */
export const PREFERENCE_WEIGHTS = { taste: 3, quality: 0.6, language: 0.5, english: 0.2 } as const;

const ENGLISH = ITEM_LANGUAGES.indexOf('en');

export class World {
  readonly options: ResolvedSimulation;
  readonly latent: LatentSpace;
  readonly catalog: Catalog;
  readonly population: Population;
  readonly rhythm: Rhythm;

  constructor(options: SimulationOptions | ResolvedSimulation = {}) {
    this.options = 'density' in options ? options : resolveSimulation(options);
    this.latent = new LatentSpace(this.options.seed, this.options.dims, CATEGORIES.length);
    this.catalog = new Catalog(this.options, this.latent);
    this.population = new Population(this.options, this.latent);
    this.rhythm = new Rhythm();
  }

  /** The user's true preference for an item, given their taste at some time (see PREFERENCE_WEIGHTS). */
  preference(profile: UserProfile, taste: Float32Array, item: number): number {
    const { catalog } = this;
    const language = catalog.language[item]!;
    const bonus =
      language === profile.languageIndex
        ? PREFERENCE_WEIGHTS.language
        : language === ENGLISH
          ? PREFERENCE_WEIGHTS.english
          : 0;
    return (
      PREFERENCE_WEIGHTS.taste * dotRow(taste, catalog.vectors, item) +
      PREFERENCE_WEIGHTS.quality * catalog.quality[item]! +
      bonus
    );
  }
}
