/**
 * Structured JSON logs (pino) to stderr, so stdout stays free for command
 * output (`recstream topics --json | jq`). User ids are never logged raw:
 * pass them through `hashUserId` (DESIGN.md §6, privacy).
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'info', name: 'runner' });
 * logger.info({ user: hashUserId('u42') }, 'opted out');
 * ```
 */
import { createHash } from 'node:crypto';
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    { level: options.level ?? 'info', name: options.name ?? 'recstream', base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: false }),
  );
}

/** A logger that drops everything (tests, library embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Stable, non-reversible user id for logs: the first 12 hex digits of sha256. */
export function hashUserId(userId: string): string {
  return createHash('sha256').update(userId).digest('hex').slice(0, 12);
}
