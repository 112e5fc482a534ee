/**
 * Turns a RocksDB failure into a StateStoreError that tells the operator
 * what is wrong with the state dir and what to do about it. RocksDB reports
 * failures as status strings ("IO error: ...", "Corruption: ..."), so the
 * message text is all there is to go on.
 *
 * @example
 * ```ts
 * db.open(options, (err) => (err ? reject(rocksdbError(dir, 'open', err)) : resolve()));
 * ```
 */
import { StateStoreError } from '../../errors.js';

export function rocksdbError(dir: string, action: string, err: unknown): StateStoreError {
  const message = err instanceof Error ? err.message : String(err);
  if (/LOCK\b.*(No locks available|Resource temporarily unavailable)|lock hold/i.test(message)) {
    // Retriable: during a rebalance the previous owner of a task may still be closing it.
    return new StateStoreError(
      `cannot ${action} state dir ${dir}: it is locked by another open state store (another recstream process, or this one, runs the same task); stop it or give each instance its own data dir`,
      err,
      true,
    );
  }
  // A MANIFEST that CURRENT names but that is gone is as unusable as a damaged one.
  if (/^Corruption\b|corrupt|MANIFEST-\d+: No such file/i.test(message)) {
    return new StateStoreError(
      `cannot ${action} state dir ${dir}: it is corrupt (${message}); delete the directory and restart, the stores are then restored from their changelog topics`,
      err,
    );
  }
  if (/Read-only file system/i.test(message)) {
    return new StateStoreError(
      `cannot ${action} state dir ${dir}: read-only file system (${message}); set RECSTREAM_DATA_DIR to a writable directory`,
      err,
    );
  }
  if (/Permission denied|Operation not permitted/i.test(message)) {
    return new StateStoreError(
      `cannot ${action} state dir ${dir}: permission denied (${message}); make it writable by this user or set RECSTREAM_DATA_DIR`,
      err,
    );
  }
  if (/No space left on device/i.test(message)) {
    return new StateStoreError(
      `cannot ${action} state dir ${dir}: no space left on device (${message}); free space in the data dir`,
      err,
    );
  }
  return new StateStoreError(`cannot ${action} state dir ${dir}: ${message}`, err);
}
