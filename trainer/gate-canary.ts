/**
 * The gate's canary option: with `RECSTREAM_GATE_CANARY_PCT` above 0, a
 * version that passes the gate while another version is promoted is not
 * promoted at once. It is published `candidate` and a canary experiment
 * starts it on that share of users (../registry/experiments/canary.ts);
 * the canary controller then grows it to every user and promotes it, or
 * rolls it back. The first version of a model is promoted at once: there
 * is nothing to compare it with.
 *
 * The `candidate` event is the commit point, as for every version: the
 * canary starts after it. If the canary is refused (another experiment
 * runs over the same users, this version's canary runs already) or the
 * trainer stops in between, the version stays `candidate` and the reason
 * is logged; `recstream models promote <version> --canary <pct>` starts it
 * by hand.
 *
 * @example
 * ```ts
 * const status = passedStatus(config, registry.promoted(model));
 * await publishModelVersion(producer, { ...event, status });
 * if (status === 'candidate') await startGateCanary(platform, event);
 * ```
 */
import { startCanary } from '../registry/experiments/canary.js';
import type { Config } from '../runtime/config.js';
import { RecstreamError } from '../runtime/errors.js';
import type { Platform } from '../runtime/platform.js';
import type { Experiment, ModelVersion } from '../schemas/generated/types.js';

/** What a version that passed the gate is published as. */
export function passedStatus(
  config: Pick<Config, 'gateCanaryPct'>,
  promoted: ModelVersion | undefined,
): 'promoted' | 'candidate' {
  return config.gateCanaryPct > 0 && promoted !== undefined ? 'candidate' : 'promoted';
}

/**
 * Starts the canary of a `candidate` version the trainer just published;
 * undefined, with a warning logged, when the canary was refused.
 */
export async function startGateCanary(
  platform: Platform,
  version: ModelVersion,
): Promise<Experiment | undefined> {
  const pct = platform.config.gateCanaryPct;
  try {
    const { experiment } = await startCanary(platform, undefined, {
      model: version.model,
      version: version.version,
      share: pct / 100,
      reason: `started by the gate (RECSTREAM_GATE_CANARY_PCT=${pct})`,
    });
    platform.logger.info(
      { model: version.model, version: version.version, experiment: experiment.id, share: pct / 100 },
      'canary started by the gate',
    );
    return experiment;
  } catch (error) {
    if (!(error instanceof RecstreamError) || error.retriable) throw error;
    platform.logger.warn(
      { model: version.model, version: version.version, err: error.message },
      `the gate's canary was refused; v${version.version} stays candidate (recstream models promote ${version.version} --canary ${pct}% starts it)`,
    );
    return undefined;
  }
}
