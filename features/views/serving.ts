/**
 * What a responder serves for a user right now: the stored view with the
 * interactions still waiting for the watermark folded in too (on a copy),
 * read as of `now`. Training examples never see these (they wait for the
 * watermark so that "before" is exact); serving prefers what the user did
 * seconds ago.
 *
 * @example
 * ```ts
 * const view = await onlineStore.get<UserView>('user', 'u42');
 * const features = servingFeatures(view, Date.now(), currentProfile(history), (item, ts) =>
 *   catalogAsOf(table, item, ts),
 * );
 * features.recent_items[0]; // the latest thing u42 did, even if not released yet
 * ```
 */
import {
  INTERACTION_TYPE_SYMBOLS,
  type Interaction,
  type UserFeatures,
} from '../../schemas/generated/types.js';
import { watchFraction } from '../math/interactions.js';
import { compareTimeId } from '../math/keys.js';
import type { CatalogAttributes, ProfileVersion } from './attributes.js';
import { featuresAt, foldInteraction, type UserView, userViewCodec } from './user-view.js';

const NO_CONTEXT = { device: null, country: null, session_id: null, surface: null, request_id: null };

export function servingFeatures(
  view: UserView | undefined,
  now: number,
  profile: ProfileVersion | undefined,
  catalog: (itemId: string, ts: number) => CatalogAttributes | undefined,
): UserFeatures {
  if (view === undefined || view.pending.length === 0) return featuresAt(view, now, profile);
  // A decoded copy: the stored view (possibly a cached object) stays as it is.
  const copy = userViewCodec.decode(userViewCodec.encode(view));
  const scratch = new Float64Array(3);
  const pending = [...copy.pending].sort((a, b) => compareTimeId(a.ts, a.event_id, b.ts, b.event_id));
  for (const p of pending) {
    const event: Interaction = {
      event_id: p.event_id,
      user_id: '',
      item_id: p.item_id,
      type: INTERACTION_TYPE_SYMBOLS[p.type]!,
      value: p.value,
      watch_ms: p.watch_ms,
      ts: p.ts,
      context: NO_CONTEXT,
    };
    const attrs = catalog(p.item_id, p.ts);
    foldInteraction(copy, event, watchFraction(event, attrs?.duration_s), attrs?.categories ?? [], scratch);
  }
  copy.pending = [];
  return featuresAt(copy, now, profile);
}
