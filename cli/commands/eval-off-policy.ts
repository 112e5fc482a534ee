/**
 * `recstream eval --off-policy --candidate <model>@<version> [--from TIME]
 * [--to TIME] [--json]`: a model version's click-through estimated from the
 * served-list log before it serves anyone
 * (evaluation/off-policy/off-policy-report.ts), printed as a table or, with
 * `--json`, as the report object. Runs the `features` application in this
 * process for the online store (as `recstream serve` does), unless
 * `RECSTREAM_REDIS_URL` names one.
 */
import { withPlatform } from '../../app/platform.js';
import { openServingStore } from '../../app/serving-store.js';
import type { Estimate } from '../../evaluation/off-policy/estimators.js';
import {
  candidateLabel,
  type OffPolicyReport,
  offPolicyReport,
} from '../../evaluation/off-policy/off-policy-report.js';
import { artifactStore } from '../../registry/model-store.js';
import type { Config } from '../../runtime/config.js';
import { ConfigError } from '../../runtime/errors.js';

export interface OffPolicyEvalOptions {
  readonly candidate: string | undefined;
  readonly from: number | undefined;
  readonly to: number | undefined;
  /** Largest share of the candidate's slots the log may not support; undefined: the report's default. */
  readonly maxUnsupported: number | undefined;
  readonly json: boolean;
}

/** Runs the off-policy evaluation and prints it; the exit code (0 also when the log supports no estimate). */
export async function runOffPolicyEval(config: Config, options: OffPolicyEvalOptions): Promise<number> {
  if (options.candidate === undefined)
    throw new ConfigError('--off-policy needs --candidate <model>@<version>, e.g. recstream@3');
  const from = options.from ?? 0;
  const to = options.to ?? Date.now() + 1;
  if (to <= from) throw new ConfigError('--to must be after --from');
  const candidate = candidateLabel(options.candidate);
  return withPlatform(config, async (platform) => {
    const serving = await openServingStore(platform);
    try {
      const report = await offPolicyReport(platform, {
        online: serving.online,
        store: artifactStore(config.dataDir),
        candidate,
        from,
        to,
        maxUnsupported: options.maxUnsupported,
      });
      process.stdout.write(options.json ? `${JSON.stringify(jsonReport(report), null, 2)}\n` : table(report));
      return 0;
    } finally {
      await serving.close();
    }
  });
}

function jsonReport(report: OffPolicyReport): Record<string, unknown> {
  return { ...report, from: new Date(report.from).toISOString(), to: new Date(report.to).toISOString() };
}

function table(r: OffPolicyReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const est = (name: string, e: Estimate | null) =>
    e === null
      ? `${name.padEnd(6)}-`
      : `${name.padEnd(6)}${e.value.toFixed(4)}  [${e.ci[0].toFixed(4)}, ${e.ci[1].toFixed(4)}]`;
  const lines = [
    `${r.candidate} off-policy, lists served ${new Date(r.from).toISOString()} – ${new Date(r.to).toISOString()}`,
    `${r.lists} lists, ${r.evaluated_lists} replayed, ${r.skipped_lists} skipped (no features as of the request); ` +
      `${r.decisions} decisions, ${r.explorable_decisions} explorable, ${r.matching_decisions} where the candidate agrees with the log`,
    `${r.matching_unexplored_decisions} of ${r.reference_unexplored.decisions} unexplored slots agree; ` +
      `${r.lists_at_frontiers} lists replayed with the item views as of their logged frontiers; ` +
      `${r.lists_by_position} read position by position from their Plackett–Luce pools`,
    '',
  ];
  if (!r.supported) lines.push(`no estimate: ${r.reason}`);
  else
    lines.push(
      'click-through per impression, 95 % interval',
      est('IPS', r.ips),
      r.snips === null ? `SNIPS - (${r.snips_reason})` : est('SNIPS', r.snips),
      r.dr === null
        ? `DR    - (${r.dr_reason})`
        : est('DR', r.dr) +
            (r.lists_without_reward_model > 0
              ? `  (${r.lists_without_reward_model} lists without the candidate's click probabilities count their IPS terms)`
              : ''),
      `effective sample size ${r.effective_sample_size!.toFixed(1)} of ${r.decisions}; unsupported ${pct(r.unsupported_share)}`,
    );
  if (r.supported && r.choice_model !== null) {
    const c = r.choice_model;
    lines.push(
      `DR's reward model: a choice among the list fitted to ${c.choices} choices: ` +
        `ranker logit ×${c.scale.toFixed(2)}, no click ${c.noClick.toFixed(2)}, ` +
        `each earlier show in the session ${c.fatigue >= 0 ? '−' : '+'}${Math.abs(c.fatigue).toFixed(2)}, ` +
        `position 2 ${c.position[1]!.toFixed(2)}`,
    );
  }
  const ref = (label: string, o: OffPolicyReport['reference']) =>
    `${label}${o.ctr.toFixed(4)}  [${o.ctr_ci[0].toFixed(4)}, ${o.ctr_ci[1].toFixed(4)}] over ${o.decisions} impressions`;
  lines.push(
    '',
    ref('logged policy, observed:       ', r.reference),
    ref('logged policy, unexplored slots: ', r.reference_unexplored),
    '',
  );
  return lines.join('\n');
}
