/**
 * The `quality` suite's `synthetic` data set: a simulated world; relevant =
 * each user's 20 most preferred items by the simulator's ground truth,
 * nothing left out, with a `ceiling` row beside popularity (ceiling.ts).
 */
import { join } from 'node:path';
import { recstream } from '../recstream-cli.js';
import type { Scale } from '../result.js';
import { ceiling } from './ceiling.js';
import { type Prepared, processAll } from './pipeline.js';
import { readInteractions, readTruth } from './synthetic-world.js';

export async function prepareSynthetic(dataDir: string, scale: Scale): Promise<Prepared> {
  // About 270 events per user at both scales, so that a median user has clicked eight items: with
  // two (the 100,000 events this world once had) even the ceiling stays under 3× popularity, since
  // nothing can learn a taste from so little (docs/decisions.md §14).
  const size =
    scale === 'full'
      ? { users: 5000, items: 1500, events: 1_350_000 }
      : { users: 1500, items: 500, events: 400_000 };
  const truthPath = join(dataDir, '..', 'synthetic-truth.jsonl');
  await recstream([
    'simulate',
    '--users',
    String(size.users),
    '--items',
    String(size.items),
    '--events',
    String(size.events),
    '--days',
    '14',
    '--seed',
    '7',
    '--truth',
    truthPath,
    '--truth-top',
    '20',
    '--data-dir',
    dataDir,
  ]);
  await processAll(dataDir);
  const truth = await readTruth(truthPath);
  const log = await readInteractions(dataDir);
  return {
    holdout: new Map(truth.users.map((user) => [user.id, user.top])),
    seen: log.seen,
    excludeSeen: false,
    now: truth.at,
    config: { ...size, relevant: 'ground truth top 20', seen_left_out: false },
    ceiling: ceiling(truth, log),
  };
}
