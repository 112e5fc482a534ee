/**
 * Structured JSON logs (pino) to stderr, so stdout stays free for command
 * output (`recstream topics --json | jq`). User ids are never logged raw:
 * pass them through `hashUserId` (user-hash.ts, keyed by
 * RECSTREAM_LOG_HASH_KEY).
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'info', name: 'runner' });
 * logger.info({ user: hashUserId('u42') }, 'opted out');
 * ```
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  readonly level?: string;
  readonly name?: string;
  /**
   * Every line at `level` and above goes to this file (appended, its
   * directory created), and only warnings and errors to stderr: what a
   * command does on a terminal, where a person reads a progress line, not
   * JSON.
   */
  readonly file?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const settings = { level, name: options.name ?? 'recstream', base: { pid: process.pid } };
  const stderr = pino.destination({ dest: 2, sync: false });
  if (options.file === undefined) return pino(settings, stderr);
  const file = pino.destination({ dest: options.file, mkdir: true, sync: false });
  return pino(
    settings,
    pino.multistream([
      { level: 'warn', stream: stderr },
      { level: level as pino.Level, stream: file },
    ]),
  );
}

/** A logger that drops everything (tests, library embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
