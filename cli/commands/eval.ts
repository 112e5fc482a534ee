/**
 * `recstream eval --train <path> --holdout <path> --format lines|movielens|csv`:
 * offline evaluation through the serving path (evaluation/serving-eval.ts).
 * Progress and what happens go to stderr; the table (or with `--json` the
 * object docs/evaluation.md describes) to stdout.
 *
 * @example
 * ```sh
 * recstream eval --train lastfm/train.txt --train lastfm/valid.txt \
 *   --holdout lastfm/test.txt --format lines --k 20 --data-dir /tmp/lastfm
 * recstream eval --train ml-100k/u1.base --holdout ml-100k/u1.test --format movielens
 * ```
 */

import { withPlatform } from '../../app/platform.js';
import {
  type EvalMetrics,
  runServingEvaluation,
  type ServingEvalReport,
} from '../../evaluation/serving-eval.js';
import { parseMapping } from '../../importers/csv-format.js';
import { IMPORT_FORMATS, type ImportFormat, type SourceOptions } from '../../importers/index.js';
import { BadFieldError, parseTimestamp } from '../../importers/values.js';
import { artifactStore } from '../../registry/model-store.js';
import { ConfigError } from '../../runtime/errors.js';
import type { Command, CommandArgs } from '../command.js';
import { choiceOption, percentOption, wholeNumberOption } from '../option-values.js';
import { Progress } from '../progress.js';
import { runOffPolicyEval } from './eval-off-policy.js';
import { runOnlineEval } from './eval-online.js';
import { engineProgress } from './train.js';

export const evalCommand: Command = {
  name: 'eval',
  summary:
    'offline evaluation through the serving path: Recall@K, NDCG@K, HR@K, coverage beside the popularity baseline',
  usage: [
    'recstream eval --train PATH [--train PATH…] --holdout PATH --format lines|movielens|csv [--k 20] [--json]',
    '               [--retrain] [--now TIME] [--concurrency 16] [--map field=column,…] [--delimiter C|tab]',
    'recstream eval --online [--from TIME] [--to TIME] [--truth PATH] [--json]',
    '  click-through of the served lists per model version and experiment variant, from the log',
    '  (with the closed-loop truth beside it when there is a truth log)',
    'recstream eval --off-policy --candidate MODEL@VERSION [--from TIME] [--to TIME] [--max-unsupported 5%] [--json]',
    "  the candidate's click-through estimated from the served lists (IPS, SNIPS, DR with 95 % intervals and the",
    '  effective sample size), each request replayed through the serving code with the features as of the request;',
    '  needs lists served with exploration (RECSTREAM_SERVE_EXPLORATION_EPSILON or a variant ordering) to estimate',
    "  anything but the logging policy itself; no estimate when more than --max-unsupported of the candidate's",
    '  slots hold items the logging policy could not have placed there',
    'Offline: imports the training part (files in time order; MovieLens ratings sorted by time first) unless the',
    'data dir already holds it, processes it, trains (or uses the promoted model), indexes, then asks',
    "GET /v1/recommendations' code for K items for every holdout user, training items excluded, as of",
    '--now (epoch ms or ISO-8601; default each user a second after their own last training event).',
  ].join('\n'),
  options: {
    train: { type: 'string', multiple: true },
    holdout: { type: 'string', multiple: true },
    format: { type: 'string' },
    k: { type: 'string' },
    json: { type: 'boolean' },
    retrain: { type: 'boolean' },
    concurrency: { type: 'string' },
    now: { type: 'string' },
    map: { type: 'string' },
    delimiter: { type: 'string' },
    online: { type: 'boolean' },
    from: { type: 'string' },
    to: { type: 'string' },
    truth: { type: 'string' },
    'off-policy': { type: 'boolean' },
    candidate: { type: 'string' },
    'max-unsupported': { type: 'string' },
  },
  async run({ config, values }) {
    const mode = values.online ? 'online' : values['off-policy'] ? 'off-policy' : 'offline';
    if (values.online && values['off-policy'])
      throw new ConfigError('--online and --off-policy are two evaluations: give one');
    refuseOptions(values, mode);
    const from = typeof values.from === 'string' ? time('--from', values.from) : undefined;
    const to = typeof values.to === 'string' ? time('--to', values.to) : undefined;
    if (mode === 'online')
      return runOnlineEval(config, {
        from,
        to,
        truth: typeof values.truth === 'string' ? values.truth : undefined,
        json: values.json === true,
      });
    if (mode === 'off-policy')
      return runOffPolicyEval(config, {
        candidate: typeof values.candidate === 'string' ? values.candidate : undefined,
        from,
        to,
        maxUnsupported: percentOption(values['max-unsupported'], '--max-unsupported'),
        json: values.json === true,
      });
    const train = paths(values, 'train');
    const holdout = paths(values, 'holdout');
    const format = choiceOption<ImportFormat>(values.format, '--format', IMPORT_FORMATS);
    if (format === undefined)
      throw new ConfigError(`--format is required: one of ${IMPORT_FORMATS.join(', ')}`);
    if ((values.map !== undefined || values.delimiter !== undefined) && format !== 'csv')
      throw new ConfigError('--map and --delimiter apply to --format csv');
    const k = wholeNumberOption(values.k, '--k', 20, { max: 1000 });
    const concurrency = wholeNumberOption(values.concurrency, '--concurrency', 16, { max: 256 });
    const now = typeof values.now === 'string' ? time('--now', values.now) : undefined;
    const sourceOptions: SourceOptions = {
      map: typeof values.map === 'string' ? parseMapping(values.map) : undefined,
      delimiter:
        values.delimiter === 'tab' || values.delimiter === '\\t'
          ? '\t'
          : (values.delimiter as string | undefined),
    };
    return withPlatform(config, async (platform) => {
      const report = await runServingEvaluation(
        platform,
        artifactStore(config.dataDir),
        {
          format,
          train,
          holdout,
          k,
          retrain: values.retrain === true,
          concurrency,
          now,
          sourceOptions,
        },
        {
          note: (line) => process.stderr.write(`${line}\n`),
          progress: (label, total) => new Progress(label, total),
          onEngineEvent: engineProgress(),
        },
      );
      process.stdout.write(values.json ? `${JSON.stringify(jsonReport(report), null, 2)}\n` : table(report));
      return 0;
    });
  },
};

/** The options of each evaluation; `json` belongs to all three. */
const MODE_OPTIONS: Record<string, readonly string[]> = {
  offline: ['train', 'holdout', 'format', 'k', 'retrain', 'concurrency', 'now', 'map', 'delimiter'],
  online: ['from', 'to', 'truth'],
  'off-policy': ['from', 'to', 'candidate', 'max-unsupported'],
};

/** Refuses the options of the other evaluations, naming them and where they belong. */
function refuseOptions(values: CommandArgs['values'], mode: string): void {
  const own = new Set(MODE_OPTIONS[mode]);
  const wrong = Object.entries(MODE_OPTIONS).flatMap(([other, names]) =>
    other === mode
      ? []
      : names.filter((name) => !own.has(name) && values[name] !== undefined).map((name) => ({ name, other })),
  );
  if (wrong.length === 0) return;
  const unique = [...new Map(wrong.map((w) => [w.name, w])).values()];
  const where = (other: string) => (other === 'offline' ? 'the offline evaluation' : `--${other}`);
  throw new ConfigError(
    `${unique.map((w) => `--${w.name} is an option of ${where(w.other)}`).join('; ')}, not of ${where(mode)}`,
  );
}

function paths(values: CommandArgs['values'], name: string): string[] {
  const raw = values[name] as unknown;
  const list = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
  if (list.length === 0) throw new ConfigError(`--${name} PATH is required`);
  return list;
}

/** Epoch milliseconds or an ISO-8601 date. */
function time(name: string, raw: string): number {
  try {
    return parseTimestamp(name, raw, /^\d+$/.test(raw.trim()) ? 'ms' : 'iso');
  } catch (error) {
    if (error instanceof BadFieldError) throw new ConfigError(error.message);
    throw error;
  }
}

/** The documented fields first (k, users, recstream, popularity), then what else the run found. */
function jsonReport(r: ServingEvalReport): Record<string, unknown> {
  return {
    k: r.k,
    users: r.users,
    recstream: r.recstream,
    popularity: r.popularity,
    personalised: r.personalised,
    fallbacks: r.fallbacks,
    model_version: r.model_version,
    index_version: r.index_version,
    ranker: r.ranker,
    retrieval_only: r.retrieval_only,
    candidates: r.candidates,
    co_visitation: r.co_visitation,
    catalog_items: r.catalog_items,
    training_interactions: r.training_interactions,
    now: r.now === null ? null : new Date(r.now).toISOString(),
    imported: r.imported,
    seconds: Math.round(r.seconds * 10) / 10,
  };
}

function table(r: ServingEvalReport): string {
  const k = r.k;
  const row = (name: string, m: EvalMetrics) =>
    `${name.padEnd(12)}${[m.recall, m.ndcg, m.hr, m.coverage].map((x) => x.toFixed(4).padStart(12)).join('')}`;
  const ratio = r.popularity.recall > 0 ? `×${(r.recstream.recall / r.popularity.recall).toFixed(2)}` : '-';
  const fallbacks = Object.entries(r.fallbacks)
    .map(([reason, n]) => `${reason} ${n.toLocaleString('en-US')}`)
    .join(', ');
  return [
    `${r.users.toLocaleString('en-US')} holdout users, K = ${k}, ${r.model_version ?? 'no model'} with ${r.index_version ?? 'no index'}, ${r.catalog_items.toLocaleString('en-US')} catalog items`,
    ...(r.co_visitation === null
      ? []
      : [
          `co-visitation candidates: ${r.co_visitation.candidates}, ${r.co_visitation.mode}, weight ${r.co_visitation.weight}`,
        ]),
    '',
    `${''.padEnd(12)}${[`Recall@${k}`, `NDCG@${k}`, `HR@${k}`, 'coverage'].map((h) => h.padStart(12)).join('')}`,
    row('recstream', r.recstream),
    ...(r.retrieval_only === null ? [] : [row('  no ranker', r.retrieval_only)]),
    row('popularity', r.popularity),
    '',
    `Recall@${k} ${ratio} popularity; personalised ${r.personalised.toLocaleString('en-US')} users${fallbacks ? `, fallbacks: ${fallbacks}` : ''}`,
    '',
  ].join('\n');
}
