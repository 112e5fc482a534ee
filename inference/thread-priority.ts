/**
 * The scheduling priority of the calling thread. On Linux a nice value
 * belongs to a thread, not to its process (setpriority(2), "Bugs"), so
 * `os.setPriority` called on a worker thread changes that thread alone. A
 * responder loads a new model/index pair on the pair's own thread while
 * the served pair answers requests on the same cores; loading it at the
 * lowest priority lets it take mostly the CPU that requests leave idle.
 * It is only niced, not put under SCHED_IDLE: a SCHED_IDLE thread gets no
 * CPU at all while the cores are busy, also while it holds something the
 * request thread waits for, and in the bench's hot-reload phase that
 * stalled requests for 100–700 ms (swap windows' p99 244 ms, median of
 * five runs, against 71 ms niced only; a single `postMessage` on the
 * request thread took 109 ms while the serving thread sat idle). Threads
 * it starts meanwhile inherit the nice value and keep it (the one a
 * pair's loading starts does no work after; its sessions run with one
 * intra-op thread, so onnxruntime starts no pool).
 *
 * Coming back afterwards (lowering a nice value) needs `CAP_SYS_NICE` or a
 * nice limit (`RLIMIT_NICE`) that reaches the old value; a thread that could
 * not come back would serve at the lowest priority for good, so without
 * either it is never lowered at all.
 *
 * @example
 * ```ts
 * const restore = lowerThreadPriority(); // on the worker thread, before loading
 * // … load …
 * restore?.();
 * ```
 */
import { readFileSync } from 'node:fs';
import { constants, getPriority, setPriority } from 'node:os';

const CAP_SYS_NICE = 23n;

/** Whether this process may bring a thread back to nice `value` once lowered: `CAP_SYS_NICE`, or a nice limit that reaches it. */
export function canRestorePriority(value: number): boolean {
  try {
    const capabilities = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (capabilities !== undefined && ((BigInt(`0x${capabilities}`) >> CAP_SYS_NICE) & 1n) === 1n)
      return true;
    const limit = /^Max nice priority\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return limit === 'unlimited' || 20 - Number(limit) <= value;
  } catch {
    return false;
  }
}

/**
 * Puts the calling thread at the lowest priority (nice 19) if it can come
 * back. Returns what brings it back to the priority it had, or undefined
 * when it was left as it was.
 */
export function lowerThreadPriority(): (() => void) | undefined {
  try {
    const before = getPriority();
    if (!canRestorePriority(before)) return undefined;
    setPriority(constants.priority.PRIORITY_LOW);
    return () => setPriority(before);
  } catch {
    return undefined;
  }
}
