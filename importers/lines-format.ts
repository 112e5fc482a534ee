/**
 * The `lines` format of graph-CF data sets (Last.fm, Gowalla, Yelp2018…):
 * one line per user, `user item item …`, separated by spaces or tabs. Each
 * item becomes one interaction of `type` (default `click`, an implicit
 * positive) with event id `<source>:<line>:<position>` and event time from
 * a SyntheticClock, so time follows file order (event-time.ts).
 *
 * @example
 * ```ts
 * const source = await linesSource('data/lastfm/train.txt', { type: 'view' });
 * for await (const record of source.records()) …
 * ```
 */
import { resolve } from 'node:path';
import type { InteractionType } from '../schemas/generated/types.js';
import { DEFAULT_SYNTHETIC_START, DEFAULT_SYNTHETIC_STEP_MS, SyntheticClock } from './event-time.js';
import { interaction } from './records.js';
import { type ImportSource, parseLines, ReadCounter, sourceFile, sourceName } from './source.js';
import { decodeUtf8 } from './text.js';
import { BadFieldError, parseId, parseUserId } from './values.js';

export interface LinesOptions {
  /** Interaction type of every pair; default `click`. */
  readonly type?: InteractionType;
  /** Event time of the first interaction (epoch ms); default 2020-01-01T00:00:00Z. */
  readonly start?: number;
  /** Event time between consecutive interactions; default 1000 ms. */
  readonly stepMs?: number;
  /** Name used in event ids; default `<folder>/<file>` (see sourceName). */
  readonly source?: string;
}

export async function linesSource(path: string, options: LinesOptions = {}): Promise<ImportSource> {
  const file = resolve(path);
  const files = [await sourceFile(file, 'interactions')];
  const name = options.source ?? sourceName(file);
  const type = options.type ?? 'click';
  const clock = new SyntheticClock({
    start: options.start ?? DEFAULT_SYNTHETIC_START,
    stepMs: options.stepMs ?? DEFAULT_SYNTHETIC_STEP_MS,
  });
  const counter = new ReadCounter();
  return {
    format: 'lines',
    files,
    bytesRead: () => counter.bytesRead(),
    records: () =>
      parseLines(counter.reader(file), file, decodeUtf8, (text, at, raw) => {
        const tokens = text.trim().split(/\s+/);
        const userId = parseUserId('user_id', tokens[0]);
        if (tokens.length === 1) return { kind: 'user-seen', at, raw, userId };
        // Every id is checked before the clock moves, so a bad line takes no event time.
        const itemIds = tokens.slice(1).map((token, i) => {
          try {
            return parseId('item_id', token);
          } catch (error) {
            if (error instanceof BadFieldError)
              throw new BadFieldError(`item_id (item ${i + 1})`, error.reason);
            throw error;
          }
        });
        const interactions = itemIds.map((itemId, i) =>
          interaction({
            eventId: `${name}:${at.line}:${i + 1}`,
            userId,
            itemId,
            type,
            value: null,
            ts: clock.next(),
          }),
        );
        return { kind: 'interactions', at, raw, interactions };
      }),
  };
}
