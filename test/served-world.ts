/**
 * A small world with a promoted model and its index, built the way an
 * operator builds it (the `recstream` command: simulate → process →
 * snapshots → train → index, the real engine on the CPU), for the
 * responder's tests. Every version the trainer makes is promoted: these
 * tests are about serving versions, not about the gate.
 */
import { runCliOk } from './cli.js';

export const SERVED_WORLD_TRAIN_CONFIG = { epochs: 3, ranker_epochs: 1, dim: 32, threads: 2, refit: false };

export const SERVED_WORLD_ENV = {
  RECSTREAM_COMMIT_INTERVAL_MS: '50',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '4000',
  RECSTREAM_TRAIN_CONFIG: JSON.stringify(SERVED_WORLD_TRAIN_CONFIG),
  RECSTREAM_GATE_POPULARITY_MARGIN: '1',
  RECSTREAM_GATE_PREVIOUS_MARGIN: '1',
};

/** 400 users, 150 items, 30,000 events over 4 days, through `features` and `snapshots`: training snapshots ready. */
export async function buildSnapshottedWorld(dataDir: string, env: Record<string, string>): Promise<void> {
  const cli = (args: string[]) => runCliOk([...args, '--data-dir', dataDir], env);
  await cli([
    'simulate',
    '--users',
    '400',
    '--items',
    '150',
    '--events',
    '30000',
    '--days',
    '4',
    '--seed',
    '9',
  ]);
  for (const app of ['features', 'snapshots']) await cli(['process', '--app', app, '--once']);
}

/** The snapshotted world with `recstream@1` promoted and `items@1` built. */
export async function buildServedWorld(dataDir: string): Promise<void> {
  await buildSnapshottedWorld(dataDir, SERVED_WORLD_ENV);
  for (const args of [
    ['train', '--once'],
    ['index', '--once'],
  ])
    await runCliOk([...args, '--data-dir', dataDir], SERVED_WORLD_ENV);
}
