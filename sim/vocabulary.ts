/**
 * The fixed vocabulary of the simulated world: genres with their formats and
 * tags, countries with language, time zone and share of users, devices, age
 * buckets and title words. Changing anything here changes every simulated
 * topic, so the digest test pins it.
 */
import type { Maturity } from '../schemas/generated/types.js';

/** How long an item runs: films, series episodes and short clips. */
export type Format = 'film' | 'episode' | 'clip';

export interface Category {
  readonly name: string;
  /** Share of the catalog whose primary category this is. */
  readonly share: number;
  /** Probability of each format, in FORMATS order. */
  readonly formats: readonly [number, number, number];
  /** Probability of each maturity in MATURITIES order. */
  readonly maturity: readonly [number, number, number, number];
  readonly tags: readonly string[];
}

export const FORMATS: readonly Format[] = ['film', 'episode', 'clip'];

/** Duration in minutes per format: [min, max]. */
export const FORMAT_MINUTES: Readonly<Record<Format, readonly [number, number]>> = {
  film: [80, 150],
  episode: [20, 60],
  clip: [2, 15],
};

export const MATURITIES: readonly Maturity[] = ['all', 'kids', 'teen', 'mature'];

export const CATEGORIES: readonly Category[] = [
  {
    name: 'drama',
    share: 0.14,
    formats: [0.5, 0.45, 0.05],
    maturity: [0.2, 0, 0.4, 0.4],
    tags: ['period', 'family-saga', 'legal', 'medical', 'award-winner'],
  },
  {
    name: 'comedy',
    share: 0.12,
    formats: [0.35, 0.5, 0.15],
    maturity: [0.3, 0.05, 0.45, 0.2],
    tags: ['sitcom', 'stand-up', 'satire', 'romcom', 'dark-humour'],
  },
  {
    name: 'action',
    share: 0.09,
    formats: [0.7, 0.25, 0.05],
    maturity: [0.1, 0, 0.5, 0.4],
    tags: ['heist', 'martial-arts', 'spy', 'superhero', 'car-chase'],
  },
  {
    name: 'thriller',
    share: 0.07,
    formats: [0.6, 0.4, 0],
    maturity: [0.05, 0, 0.4, 0.55],
    tags: ['psychological', 'conspiracy', 'twist-ending', 'nordic-noir'],
  },
  {
    name: 'documentary',
    share: 0.08,
    formats: [0.45, 0.4, 0.15],
    maturity: [0.6, 0.05, 0.3, 0.05],
    tags: ['nature', 'true-crime', 'biography', 'science', 'travel'],
  },
  {
    name: 'animation',
    share: 0.06,
    formats: [0.4, 0.45, 0.15],
    maturity: [0.5, 0.35, 0.1, 0.05],
    tags: ['anime', 'stop-motion', 'cgi', 'hand-drawn'],
  },
  {
    name: 'romance',
    share: 0.06,
    formats: [0.55, 0.45, 0],
    maturity: [0.3, 0, 0.5, 0.2],
    tags: ['slow-burn', 'period', 'second-chance', 'feel-good'],
  },
  {
    name: 'sci-fi',
    share: 0.06,
    formats: [0.55, 0.45, 0],
    maturity: [0.15, 0, 0.55, 0.3],
    tags: ['space', 'dystopia', 'time-travel', 'cyberpunk', 'aliens'],
  },
  {
    name: 'horror',
    share: 0.05,
    formats: [0.7, 0.3, 0],
    maturity: [0, 0, 0.3, 0.7],
    tags: ['slasher', 'supernatural', 'found-footage', 'folk-horror'],
  },
  {
    name: 'crime',
    share: 0.06,
    formats: [0.45, 0.55, 0],
    maturity: [0.05, 0, 0.45, 0.5],
    tags: ['detective', 'mafia', 'police-procedural', 'heist'],
  },
  {
    name: 'family',
    share: 0.04,
    formats: [0.6, 0.35, 0.05],
    maturity: [0.7, 0.3, 0, 0],
    tags: ['holiday', 'adventure', 'animals', 'coming-of-age'],
  },
  {
    name: 'fantasy',
    share: 0.04,
    formats: [0.55, 0.45, 0],
    maturity: [0.2, 0.05, 0.55, 0.2],
    tags: ['epic', 'magic', 'mythology', 'fairy-tale'],
  },
  {
    name: 'music',
    share: 0.04,
    formats: [0.15, 0.15, 0.7],
    maturity: [0.6, 0.05, 0.3, 0.05],
    tags: ['concert', 'music-video', 'behind-the-scenes', 'jazz', 'hip-hop'],
  },
  {
    name: 'sports',
    share: 0.04,
    formats: [0.1, 0.3, 0.6],
    maturity: [0.8, 0, 0.2, 0],
    tags: ['football', 'basketball', 'highlights', 'motorsport', 'tennis'],
  },
  {
    name: 'news',
    share: 0.03,
    formats: [0, 0.3, 0.7],
    maturity: [0.8, 0, 0.2, 0],
    tags: ['politics', 'business', 'world', 'weather'],
  },
  {
    name: 'reality',
    share: 0.03,
    formats: [0, 0.8, 0.2],
    maturity: [0.3, 0, 0.6, 0.1],
    tags: ['cooking', 'dating', 'competition', 'makeover'],
  },
  {
    name: 'kids',
    share: 0.03,
    formats: [0.15, 0.55, 0.3],
    maturity: [0.2, 0.8, 0, 0],
    tags: ['preschool', 'educational', 'cartoon', 'songs'],
  },
  {
    name: 'history',
    share: 0.02,
    formats: [0.5, 0.45, 0.05],
    maturity: [0.5, 0, 0.45, 0.05],
    tags: ['war', 'ancient', 'empire', 'archive-footage'],
  },
];

export interface Country {
  readonly code: string;
  readonly language: string;
  /** Offset from UTC in hours, which shifts the diurnal rhythm. */
  readonly utcOffset: number;
  /** Share of users. */
  readonly share: number;
}

export const COUNTRIES: readonly Country[] = [
  { code: 'US', language: 'en', utcOffset: -5, share: 0.25 },
  { code: 'BR', language: 'pt-BR', utcOffset: -3, share: 0.12 },
  { code: 'MX', language: 'es', utcOffset: -6, share: 0.08 },
  { code: 'GB', language: 'en', utcOffset: 0, share: 0.08 },
  { code: 'DE', language: 'de', utcOffset: 1, share: 0.08 },
  { code: 'FR', language: 'fr', utcOffset: 1, share: 0.07 },
  { code: 'ES', language: 'es', utcOffset: 1, share: 0.05 },
  { code: 'PT', language: 'pt', utcOffset: 0, share: 0.03 },
  { code: 'IN', language: 'hi', utcOffset: 5.5, share: 0.12 },
  { code: 'JP', language: 'ja', utcOffset: 9, share: 0.06 },
  { code: 'KR', language: 'ko', utcOffset: 9, share: 0.03 },
  { code: 'AU', language: 'en', utcOffset: 10, share: 0.03 },
];

/** Item languages and their share of the catalog; English dominates as in most catalogs. */
export const ITEM_LANGUAGES: readonly string[] = ['en', 'es', 'pt-BR', 'pt', 'de', 'fr', 'hi', 'ja', 'ko'];
export const ITEM_LANGUAGE_SHARE: readonly number[] = [0.5, 0.1, 0.08, 0.02, 0.06, 0.06, 0.08, 0.06, 0.04];

export const DEVICES: readonly string[] = ['tv', 'mobile', 'web', 'tablet'];
export const DEVICE_SHARE: readonly number[] = [0.3, 0.42, 0.18, 0.1];

export const AGE_BUCKETS: readonly string[] = ['13-17', '18-24', '25-34', '35-44', '45-54', '55+'];
export const AGE_SHARE: readonly number[] = [0.06, 0.18, 0.27, 0.21, 0.14, 0.14];
/** Share of users who do not disclose their age (age_bucket null). */
export const AGE_UNDISCLOSED = 0.08;

/** Categories an age bucket leans towards (multiplies the category share when picking favourites). */
export const AGE_TILT: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  '13-17': { animation: 3, kids: 1.5, music: 2.5, 'sci-fi': 1.5, fantasy: 2, history: 0.3, news: 0.2 },
  '18-24': { comedy: 1.5, horror: 1.8, music: 2, reality: 1.5, animation: 1.5, news: 0.4 },
  '25-34': { action: 1.3, thriller: 1.3, 'sci-fi': 1.3, crime: 1.2 },
  '35-44': { family: 2, kids: 2.5, drama: 1.2, documentary: 1.2 },
  '45-54': { documentary: 1.6, crime: 1.4, news: 1.8, history: 1.8, drama: 1.3 },
  '55+': { news: 2.5, history: 2.5, documentary: 1.8, drama: 1.4, horror: 0.4, animation: 0.4 },
};

export const TITLE_ADJECTIVES: readonly string[] = [
  'Silent',
  'Broken',
  'Golden',
  'Hidden',
  'Last',
  'Crimson',
  'Distant',
  'Electric',
  'Frozen',
  'Wild',
  'Midnight',
  'Lost',
  'Burning',
  'Quiet',
  'Restless',
  'Secret',
  'Hollow',
  'Northern',
  'Endless',
  'Paper',
];

export const TITLE_NOUNS: readonly string[] = [
  'Harbor',
  'Kingdom',
  'Signal',
  'Garden',
  'Frontier',
  'Orchard',
  'Empire',
  'River',
  'Station',
  'Letters',
  'Machine',
  'Summer',
  'Island',
  'Witness',
  'Circus',
  'Lantern',
  'Archive',
  'Voyage',
  'Tide',
  'Mirror',
];
