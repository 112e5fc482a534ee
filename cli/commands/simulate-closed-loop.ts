/**
 * `recstream simulate --closed-loop --responder <url>`: the seeded world's
 * users ask a running responder for recommendations and react to what it
 * serves (sim/closed-loop/closed-loop.ts). The world options are those of
 * the open-loop simulation that built the platform's data (same `--seed`,
 * `--users`, `--items`), so the users and items are the ones the platform
 * knows. `--click-model` says how the users pick from a list
 * (sim/click-models.ts: `choice`, the default, or `cascade`); the truth is
 * computed under it. Writes the truth log to `--truth` (default
 * `<data-dir>/closed-loop/truth.jsonl`).
 */
import { join } from 'node:path';
import type { Config } from '../../runtime/config.js';
import { ConfigError } from '../../runtime/errors.js';
import type { ClickModel } from '../../sim/click-models.js';
import { runClosedLoop } from '../../sim/closed-loop/closed-loop.js';
import type { ResolvedSimulation } from '../../sim/options.js';
import { World } from '../../sim/world.js';
import { Progress } from '../progress.js';

export interface ClosedLoopCommandOptions {
  readonly responder: string;
  readonly durationS: number;
  readonly rate: number;
  /** How the users pick from a list (sim/click-models.ts). */
  readonly clickModel: ClickModel;
  readonly truthPath: string | undefined;
  readonly json: boolean;
}

/** Runs the closed loop and prints its summary; the exit code. */
export async function runClosedLoopCommand(
  config: Config,
  world: ResolvedSimulation,
  options: ClosedLoopCommandOptions,
): Promise<number> {
  let url: URL;
  try {
    url = new URL(options.responder);
  } catch {
    throw new ConfigError(
      `--responder must be a URL such as http://127.0.0.1:8080, got ${JSON.stringify(options.responder)}`,
    );
  }
  const truthPath = options.truthPath ?? join(config.dataDir, 'closed-loop', 'truth.jsonl');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = new Progress('simulate --closed-loop', undefined);
  const started = performance.now();
  try {
    const summary = await runClosedLoop({
      world: new World(world),
      responder: url.origin,
      durationMs: options.durationS * 1000,
      rate: options.rate,
      clickModel: options.clickModel,
      truthPath,
      signal: stop.signal,
      onProgress: (p) =>
        progress.update(p.served, {
          organic: p.organic,
          visits: p.visits,
          events: p.posted,
          true_ctr: p.impressions === 0 ? 0 : Number((p.expectedClicks / p.impressions).toFixed(4)),
        }),
    });
    progress.done({ served: summary.served });
    const report = {
      ...summary,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      click_model: options.clickModel,
      true_ctr: summary.impressions === 0 ? null : summary.expectedClicks / summary.impressions,
      measured_ctr: summary.impressions === 0 ? null : summary.clicks / summary.impressions,
      truth: truthPath,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else
      process.stdout.write(
        `closed loop: ${summary.served} lists served to ${summary.visits} visits (${summary.organic} organic requests), ` +
          `${summary.posted} events posted, ${summary.clicks} clicks on ${summary.impressions} impressions; ` +
          `true click-through ${report.true_ctr?.toFixed(4) ?? '-'} (${options.clickModel} click model), measured ${report.measured_ctr?.toFixed(4) ?? '-'}` +
          `${summary.failed > 0 ? `, ${summary.failed} requests failed` : ''}\ntruth written to ${truthPath}\n`,
      );
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
