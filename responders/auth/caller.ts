/**
 * The name a served list records for whoever asked for it
 * (`ServedRecommendations.caller`, and `caller` in the response), so that
 * experiment figures and training can tell an anonymous request from an
 * authenticated one (RECSTREAM_ATTRIBUTE_ANONYMOUS):
 *
 * - `null`: no credentials: the responder is in open mode (./exposure.ts).
 * - `key:<name>`: an API key of RECSTREAM_API_KEYS, by its configured name
 *   (an operator's label, not personal data).
 * - `jwt:<h>`: a bearer token, `h` the first 16 hex digits of the sha256 of
 *   its `sub`. An issuer's `sub` may be an e-mail address, and the served-list
 *   log is kept, replayed and read by training and evaluation, so the subject
 *   itself is not written there. The hash is not keyed: it is the same on
 *   every responder and after every restart, and whoever knows a subject
 *   finds its lists (`printf %s "$SUB" | sha256sum | cut -c1-16`); it hides
 *   an address from a reader of the log, not from someone who guesses it.
 * - `jwt`: a bearer token without `sub`.
 *
 * @example
 * ```ts
 * callerOf(request.principal); // null in open mode, e.g. 'key:loader' or 'jwt:9f86d081884c7d65' otherwise
 * ```
 */
import { createHash } from 'node:crypto';
import type { Principal } from './authenticator.js';

/** Hex digits kept of the subject's sha256: 64 bits, enough to tell a deployment's callers apart. */
const SUBJECT_HEX_DIGITS = 16;

/** The served list's `caller` for a request made with `principal`; null for an anonymous one. */
export function callerOf(principal: Pick<Principal, 'kind' | 'subject'> | undefined): string | null {
  if (principal === undefined) return null;
  if (principal.kind === 'api-key') return `key:${principal.subject}`;
  if (principal.subject === undefined) return 'jwt';
  const digest = createHash('sha256').update(principal.subject, 'utf8').digest('hex');
  return `jwt:${digest.slice(0, SUBJECT_HEX_DIGITS)}`;
}
