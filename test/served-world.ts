/**
 * A small world with a promoted model and its index, built the way an
 * operator builds it (the `recstream` command: simulate → process →
 * snapshots → train → index, the real engine on the CPU), for the
 * responder's tests. Every version the trainer makes is promoted: these
 * tests are about serving versions, not about the gate.
 */
import { loadConfig } from '../runtime/config.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { openPlatform, type Platform } from '../schemas/platform.js';
import { runCliOk } from './cli.js';

export const SERVED_WORLD_TRAIN_CONFIG = { epochs: 3, ranker_epochs: 1, dim: 32, threads: 2, refit: false };

/**
 * The model trained to convergence (a few seconds more): for tests that
 * measure what a model is worth to users, where three epochs leave it
 * little better than the popularity list.
 */
export const CONVERGED_TRAIN_CONFIG = { ...SERVED_WORLD_TRAIN_CONFIG, epochs: 10, ranker_epochs: 2 };

export const SERVED_WORLD_ENV = {
  RECSTREAM_COMMIT_INTERVAL_MS: '50',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '4000',
  RECSTREAM_TRAIN_CONFIG: JSON.stringify(SERVED_WORLD_TRAIN_CONFIG),
  RECSTREAM_GATE_POPULARITY_MARGIN: '1',
  RECSTREAM_GATE_PREVIOUS_MARGIN: '1',
};

/** The shape of a simulated world, as `recstream simulate` and `World` take it. */
export interface WorldShape {
  readonly users: number;
  readonly items: number;
  readonly events: number;
  readonly days: number;
  readonly seed: number;
}

/** The served world: 400 users, 150 items, 30,000 events over 4 days. */
export const SERVED_WORLD: WorldShape = { users: 400, items: 150, events: 30_000, days: 4, seed: 9 };

/** A simulated world (default the served one) through `features` and `snapshots`: training snapshots ready. */
export async function buildSnapshottedWorld(
  dataDir: string,
  env: Record<string, string>,
  shape: WorldShape = SERVED_WORLD,
): Promise<void> {
  const cli = (args: string[]) => runCliOk([...args, '--data-dir', dataDir], env);
  await cli([
    'simulate',
    ...Object.entries(shape).flatMap(([option, value]) => [`--${option}`, String(value)]),
  ]);
  for (const app of ['features', 'snapshots']) await cli(['process', '--app', app, '--once']);
}

/**
 * The snapshotted world (`shape`, default the served one) with
 * `recstream@1` (trained with `trainConfig`) promoted and `items@1` built;
 * `env` adds settings to every command (the Kafka brokers and registry of
 * `startKafkaPlatform`, to build it on Kafka).
 */
export async function buildServedWorld(
  dataDir: string,
  options: {
    readonly trainConfig?: Record<string, unknown>;
    readonly shape?: WorldShape;
    readonly env?: Record<string, string>;
  } = {},
): Promise<void> {
  const trainConfig = options.trainConfig ?? SERVED_WORLD_TRAIN_CONFIG;
  const env = { ...SERVED_WORLD_ENV, RECSTREAM_TRAIN_CONFIG: JSON.stringify(trainConfig), ...options.env };
  await buildSnapshottedWorld(dataDir, env, options.shape);
  for (const args of [
    ['train', '--once'],
    ['index', '--once'],
  ])
    await runCliOk([...args, '--data-dir', dataDir], env);
}

/**
 * The served world's platform for a responder in the test's process: a
 * port the system picks, and a 5 s online-store timeout, since these tests
 * check what a list holds and a loaded machine can take past the 50 ms
 * default on a first read (the fallback on a slow store is tested against
 * Redis). `env` adds or overrides settings.
 */
export function openServedPlatform(dataDir: string, env: Record<string, string> = {}): Promise<Platform> {
  return openPlatform(
    loadConfig({
      ...SERVED_WORLD_ENV,
      RECSTREAM_DATA_DIR: dataDir,
      RECSTREAM_HTTP_PORT: '0',
      RECSTREAM_SERVE_STORE_TIMEOUT_MS: '5000',
      ...env,
    }),
    { logger: silentLogger() },
  );
}
