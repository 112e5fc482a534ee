/**
 * One trainer round on a data dir, timed: what the `train` and `quality`
 * suites measure after building a pipeline.
 *
 * @example
 * ```ts
 * const { model, seconds } = await timedTrainRound('/tmp/bench/data');
 * ```
 */
import { join } from 'node:path';
import { FileArtifactStore } from '../registry/model-store.js';
import { loadConfig } from '../runtime/config.js';
import { silentLogger } from '../runtime/observability/logger.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { openPlatform } from '../schemas/platform.js';
import { Trainer } from '../trainer/trainer.js';

export async function timedTrainRound(dataDir: string): Promise<{ model: ModelVersion; seconds: number }> {
  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  try {
    const started = performance.now();
    const outcome = await new Trainer({
      platform,
      store: new FileArtifactStore(join(dataDir, 'artifacts')),
    }).trainOnce();
    if (outcome.kind !== 'published') throw new Error(`no model trained: ${outcome.detail}`);
    return { model: outcome.version, seconds: (performance.now() - started) / 1000 };
  } finally {
    await platform.close();
  }
}
