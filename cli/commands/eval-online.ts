/**
 * `recstream eval --online [--from TIME] [--to TIME] [--truth PATH] [--json]`:
 * the online value of what was served (evaluation/online/online-report.ts),
 * per model version and experiment variant, with the closed-loop truth
 * beside it when a truth log is there (`--truth`, default
 * `<data-dir>/closed-loop/truth.jsonl` when that file exists).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withPlatform } from '../../app/platform.js';
import { type OnlineReport, onlineReport } from '../../evaluation/online/online-report.js';
import type { Config } from '../../runtime/config.js';
import { ConfigError } from '../../runtime/errors.js';
import { readTruthLog } from '../../sim/closed-loop/truth-log.js';

export interface OnlineEvalOptions {
  readonly from: number | undefined;
  readonly to: number | undefined;
  readonly truth: string | undefined;
  readonly json: boolean;
}

/** Runs the online report and prints it; the exit code. */
export async function runOnlineEval(config: Config, options: OnlineEvalOptions): Promise<number> {
  const from = options.from ?? 0;
  const to = options.to ?? Date.now() + 1;
  if (to <= from) throw new ConfigError('--to must be after --from');
  const defaultTruth = join(config.dataDir, 'closed-loop', 'truth.jsonl');
  const truthPath = options.truth ?? (existsSync(defaultTruth) ? defaultTruth : undefined);
  if (options.truth !== undefined && !existsSync(options.truth))
    throw new ConfigError(`--truth ${options.truth}: no such file`);
  const truth = truthPath === undefined ? undefined : await readTruthLog(truthPath);
  return withPlatform(config, async (platform) => {
    const report = await onlineReport(platform.log, platform.serde, { from, to, truth });
    process.stdout.write(
      options.json ? `${JSON.stringify(jsonReport(report, truthPath), null, 2)}\n` : table(report),
    );
    return 0;
  });
}

function jsonReport(report: OnlineReport, truth: string | undefined): Record<string, unknown> {
  return {
    from: new Date(report.from).toISOString(),
    to: new Date(report.to).toISOString(),
    truth: truth ?? null,
    rows: report.rows,
  };
}

function table(report: OnlineReport): string {
  if (report.rows.length === 0) return 'no served lists in that time\n';
  const header = [
    'model_version',
    'experiment',
    'variant',
    'requests',
    'impr.',
    'clicks',
    'ctr',
    '95 % interval',
    'true ctr',
  ];
  const lines = report.rows.map((r) => [
    r.model_version ?? '(fallback)',
    r.experiment_id ?? '-',
    r.variant ?? '-',
    String(r.requests),
    String(r.impressions),
    String(r.clicks),
    r.ctr.toFixed(4),
    `[${r.ctr_ci[0].toFixed(4)}, ${r.ctr_ci[1].toFixed(4)}]`,
    r.true_ctr === null ? '-' : r.true_ctr.toFixed(4),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return `${[row(header), ...lines.map(row)].join('\n')}\n`;
}
