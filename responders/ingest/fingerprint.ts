/**
 * A short, stable digest of an event's content, kept beside its event id in
 * the dedup index so that a resend (same id, same content) is told apart
 * from a different event that reuses an id. Computed from the fields in
 * schema order, so an event read back from the log gives the same digest as
 * the JSON it was accepted from.
 *
 * @example
 * ```ts
 * fingerprint(event).equals(fingerprint(decodedFromLog)); // true
 * ```
 */
import { createHash } from 'node:crypto';
import type { Interaction } from '../../schemas/generated/types.js';

export const FINGERPRINT_BYTES = 8;

export function fingerprint(e: Interaction): Buffer {
  const c = e.context;
  const canonical = JSON.stringify([
    e.event_id,
    e.user_id,
    e.item_id,
    e.type,
    e.value,
    e.watch_ms,
    e.ts,
    c.device,
    c.country,
    c.session_id,
    c.surface,
    c.request_id,
  ]);
  return createHash('sha256').update(canonical).digest().subarray(0, FINGERPRINT_BYTES);
}
