/**
 * `recstream process --instance I/N`: instance I of N takes partition p of
 * an application exactly when p mod N = I, for every application whatever
 * its partition count. A StatefulSet derives I from its pod ordinal and N
 * from its replicas. Growing N to a multiple keeps a subset of each
 * instance's partitions on it; moved partitions are restored by their new
 * owner from the changelog topics.
 *
 * @example
 * ```ts
 * const instance = parseInstance('1/2');
 * instanceShare(4, instance, 'features'); // [1, 3]
 * ```
 */
import { ConfigError } from '../runtime/errors.js';

export interface Instance {
  readonly index: number;
  readonly count: number;
}

/** @throws ConfigError unless `text` is `I/N` with whole numbers 0 <= I < N */
export function parseInstance(text: string): Instance {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count)
    throw new ConfigError(
      `--instance must be I/N with 0 <= I < N (instance I of N, e.g. 0/2 and 1/2), got ${JSON.stringify(text)}`,
    );
  return { index, count };
}

/**
 * The partitions of an application with `partitions` partitions that
 * `instance` runs.
 *
 * @throws ConfigError when the instance gets none (more instances than partitions)
 */
export function instanceShare(partitions: number, instance: Instance, application: string): number[] {
  const share: number[] = [];
  for (let p = instance.index; p < partitions; p += instance.count) share.push(p);
  if (share.length === 0)
    throw new ConfigError(
      `instance ${instance.index}/${instance.count} gets no partition of ${application}, which has ${partitions}: run at most ${partitions} instances`,
    );
  return share;
}
