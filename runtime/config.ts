/**
 * Configuration as a schema (the fastify way): every setting has a type, a
 * default and a doc line; `loadConfig` validates the environment at start,
 * names the variable in every error, and returns a frozen object. The
 * settings are kept by section in `config/` (the log, the online store,
 * HTTP, serving, access, features, training, canaries, processing,
 * observability);
 * here they are assembled into one table, in the order `--help` lists them
 * and `loadConfig` reads them, so that `--help`, validation and the types
 * all read one source.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env, { dataDir: '/var/lib/recstream' });
 * config.httpPort; // 8080 unless RECSTREAM_HTTP_PORT says otherwise
 * ```
 */
import { ACCESS_SETTINGS } from './config/access.js';
import { CO_VISITATION_SETTINGS } from './config/co-visitation.js';
import { CANARY_SETTINGS } from './config/experiments.js';
import { FEATURE_SETTINGS } from './config/features.js';
import { HTTP_LIMIT_SETTINGS, HTTP_SETTINGS } from './config/http.js';
import { checkKafkaSecurity, LOG_SETTINGS } from './config/log.js';
import { checkLogHashKey, OBSERVABILITY_SETTINGS } from './config/observability.js';
import { ONLINE_STORE_SETTINGS } from './config/online.js';
import { parse } from './config/parse.js';
import { checkProcessThreads, PROCESSING_SETTINGS } from './config/processing.js';
import { INDEX_SETTINGS, SERVING_SETTINGS } from './config/serving.js';
import type { Setting, ValuesOf } from './config/setting.js';
import { TRAINER_PROCESS_SETTINGS, TRAINING_SETTINGS } from './config/trainer.js';

/** The settings, in the order `recstream --help` lists them under `environment:`. */
export const CONFIG_SCHEMA = {
  ...LOG_SETTINGS,
  ...ONLINE_STORE_SETTINGS,
  ...TRAINER_PROCESS_SETTINGS,
  ...HTTP_SETTINGS,
  ...SERVING_SETTINGS,
  ...HTTP_LIMIT_SETTINGS,
  ...INDEX_SETTINGS,
  ...ACCESS_SETTINGS,
  ...FEATURE_SETTINGS,
  ...CO_VISITATION_SETTINGS,
  ...TRAINING_SETTINGS,
  ...CANARY_SETTINGS,
  ...PROCESSING_SETTINGS,
  ...OBSERVABILITY_SETTINGS,
} as const satisfies Record<string, Setting>;

type Schema = typeof CONFIG_SCHEMA;

/** The validated, frozen configuration. */
export type Config = ValuesOf<Schema>;

/**
 * Reads every setting from `env` (overrides win over the environment, as a
 * command-line flag does), validates, and freezes.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof Schema, string>> = {},
): Config {
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(CONFIG_SCHEMA) as [keyof Schema, Setting][]) {
    const raw = overrides[name] ?? env[setting.env];
    if (raw === undefined || raw === '') {
      // Defaults are written as the variable would be, so the kinds that build a value parse theirs too.
      out[name] =
        typeof setting.default === 'string' ? parse(name, setting, setting.default) : setting.default;
    } else {
      out[name] = parse(name, setting, raw);
    }
  }
  checkKafkaSecurity(out as Config);
  checkLogHashKey(out as Config);
  checkProcessThreads(out as Config);
  return Object.freeze(out) as Config;
}

/** One line per setting, for `--help`. */
export function describeConfig(): string {
  return Object.values(CONFIG_SCHEMA)
    .map(
      (s: Setting) =>
        `  ${s.env.padEnd(32)} ${s.doc}${s.default === undefined ? '' : ` (default ${s.default})`}`,
    )
    .join('\n');
}
