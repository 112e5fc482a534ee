/**
 * Catalog items for the final-ordering and exploration tests: a plain
 * available drama released a year before `NOW`, with what a test changes.
 *
 * @example
 * ```ts
 * const fresh = catalogItem('fresh', { release_ts: NOW - DAY });
 * ```
 */
import type { Item } from '../../schemas/generated/types.js';

export const NOW = 1_764_000_000_000;
export const DAY = 86_400_000;

export function catalogItem(id: string, overrides: Partial<Item> = {}): Item {
  return {
    item_id: id,
    title: id,
    categories: ['drama'],
    tags: [],
    language: 'en',
    duration_s: 60,
    release_ts: NOW - 365 * DAY,
    maturity: 'all',
    available: true,
    updated_ts: 1,
    ...overrides,
  };
}
