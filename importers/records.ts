/**
 * The records an import writes when the source says no more than an id:
 * an interaction with empty context, and the minimal `Item` / `User` given
 * to ids that appear in interactions but in no metadata file.
 *
 * @example
 * ```ts
 * interaction({ eventId: 'ml-100k/u.data:1', userId: '196', itemId: '242', type: 'rate', value: 3, ts });
 * minimalItem('242', 0); // { item_id: '242', title: '242', categories: [], available: true, … }
 * ```
 */
import type { Interaction, InteractionType, Item, User } from '../schemas/generated/types.js';

export function interaction(fields: {
  eventId: string;
  userId: string;
  itemId: string;
  type: InteractionType;
  value: number | null;
  ts: number;
  watchMs?: number | null;
  context?: Partial<Interaction['context']>;
}): Interaction {
  return {
    event_id: fields.eventId,
    user_id: fields.userId,
    item_id: fields.itemId,
    type: fields.type,
    value: fields.value,
    watch_ms: fields.watchMs ?? null,
    ts: fields.ts,
    context: {
      device: fields.context?.device ?? null,
      country: fields.context?.country ?? null,
      session_id: fields.context?.session_id ?? null,
      surface: fields.context?.surface ?? null,
      request_id: fields.context?.request_id ?? null,
    },
  };
}

/** An item known only by its id: titled with the id, no categories, available. */
export function minimalItem(itemId: string, updatedTs: number): Item {
  return catalogItem({ itemId, title: itemId, categories: [], releaseTs: null, updatedTs });
}

export function catalogItem(fields: {
  itemId: string;
  title: string;
  categories: readonly string[];
  releaseTs: number | null;
  updatedTs: number;
}): Item {
  return {
    item_id: fields.itemId,
    title: fields.title,
    categories: [...fields.categories],
    tags: [],
    language: null,
    duration_s: null,
    release_ts: fields.releaseTs,
    maturity: 'unrated',
    available: true,
    updated_ts: fields.updatedTs,
  };
}

/** A user known only by their id: nothing disclosed, not opted out. */
export function minimalUser(userId: string, ts: number): User {
  return profile({ userId, country: null, ageBucket: null, ts });
}

export function profile(fields: {
  userId: string;
  country: string | null;
  ageBucket: string | null;
  ts: number;
}): User {
  return {
    user_id: fields.userId,
    country: fields.country,
    language: null,
    age_bucket: fields.ageBucket,
    signup_ts: fields.ts,
    opt_out: false,
    updated_ts: fields.ts,
  };
}
