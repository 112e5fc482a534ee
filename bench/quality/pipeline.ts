/**
 * What every data set of the `quality` suite prepares before training: the
 * pipeline run over its events, and the holdout it is scored on.
 */
import type { RankingResult } from '../../evaluation/ranking-metrics.js';
import type { ServeTime } from '../../evaluation/serve-time.js';
import { recstream } from '../recstream-cli.js';
import type { ItemSets } from './item-sets.js';

/** The cut-offs every list is scored at. */
export const KS = [10, 20, 50];
export const DAY_MS = 86_400_000;

export interface Prepared {
  readonly holdout: ItemSets;
  readonly seen: ItemSets;
  readonly excludeSeen?: boolean;
  /** The time each user is served at: one for everyone, or each user's own. */
  readonly now: ServeTime;
  readonly config: Record<string, unknown>;
  /** A reference ranking's metrics on the same users (synthetic: the ceiling). */
  readonly ceiling?: Readonly<Record<number, RankingResult>>;
}

/**
 * A finite import ends inside snapshots that nothing would close (a snapshot closes on a count or
 * on a day of event time, and no event comes after the last one): `--end-of-input` closes them,
 * so every example is trained on. Snapshots of 500 examples, as `recstream eval` cuts them.
 */
export async function processAll(dataDir: string): Promise<void> {
  for (const app of ['features', 'snapshots'])
    await recstream(['process', '--app', app, '--once', '--end-of-input', '--data-dir', dataDir], {
      RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '500',
    });
}
