/**
 * The task metadata that lives in the engine next to the store entries and
 * is written in the same atomic batch as every commit: the input offsets the
 * stores reflect, the commit sequence number, and per store the changelog
 * position right after the task's last acknowledged changelog batch (records
 * beyond it are orphans of a commit that never reached the engine).
 *
 * @example
 * ```ts
 * const meta = decodeMeta(await engine.get(META_KEY), dir);
 * await engine.write([{ key: META_KEY, value: encodeMeta({ ...meta, inputOffsets }) }]);
 * ```
 */
import { StateStoreError } from '../errors.js';
import { stableStringify } from './codecs/stable-json.js';

export interface StoreMeta {
  readonly topic: string;
  /** Changelog end offset (of the task's partition) after the task's last acknowledged batch. */
  readonly end: number;
  /** Committed entries. */
  readonly count: number;
}

export interface TaskMeta {
  readonly version: 1;
  readonly applicationId: string;
  readonly partition: number;
  readonly seq: number;
  readonly inputOffsets: Readonly<Record<string, number>>;
  readonly stores: Readonly<Record<string, StoreMeta>>;
}

export function encodeMeta(meta: TaskMeta): Buffer {
  return Buffer.from(stableStringify(meta), 'utf8');
}

export function decodeMeta(bytes: Buffer, dir: string): TaskMeta {
  let meta: Partial<TaskMeta> | null = null;
  try {
    meta = JSON.parse(bytes.toString('utf8')) as Partial<TaskMeta>;
  } catch {
    // Reported below together with the other shapes that are not metadata.
  }
  const valid =
    meta !== null &&
    typeof meta === 'object' &&
    meta.version === 1 &&
    typeof meta.applicationId === 'string' &&
    Number.isSafeInteger(meta.partition) &&
    Number.isSafeInteger(meta.seq) &&
    typeof meta.inputOffsets === 'object' &&
    meta.inputOffsets !== null &&
    typeof meta.stores === 'object' &&
    meta.stores !== null &&
    Object.values(meta.stores).every(
      (s) => typeof s?.topic === 'string' && Number.isSafeInteger(s.end) && Number.isSafeInteger(s.count),
    );
  if (!valid) {
    throw new StateStoreError(
      `state dir ${dir} holds unreadable task metadata (written by another version?); delete the directory to restore the stores from their changelogs`,
    );
  }
  return meta as TaskMeta;
}
