/**
 * The scheduling priority of the calling thread. On Linux a nice value
 * belongs to a thread, not to its process (setpriority(2), "Bugs"), so
 * `os.setPriority` called on a worker thread changes that thread alone. A
 * responder loads a new model/index pair on the pair's own thread while
 * the served pair answers requests on the same cores; loading it at the
 * lowest priority lets it take only the CPU that requests leave idle.
 * Nice 19 alone is not enough: a thread woken for a request still waited
 * for a nice-19 thread's slice, and a nice-19 hashing loop beside an open
 * loop at 550 req/s tripled its p50 (2.5 → 6–11 ms). Under SCHED_IDLE,
 * which a waking normal thread preempts at once, the same loop cost
 * 3.2–5.0 ms, so the thread is put under that policy too where `chrt`
 * can set it. Threads it starts meanwhile inherit both and keep them
 * (the one a pair's loading starts does no work after; its sessions run
 * with one intra-op thread, so onnxruntime starts no pool).
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
import { spawnSync } from 'node:child_process';
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
 * Puts the calling thread at the lowest priority if it can come back: nice
 * 19 and, where util-linux's `chrt` can set it, the SCHED_IDLE policy.
 * Returns what brings it back to the priority it had, or undefined when
 * it was left as it was.
 */
export function lowerThreadPriority(): (() => void) | undefined {
  try {
    const before = getPriority();
    if (!canRestorePriority(before)) return undefined;
    setPriority(constants.priority.PRIORITY_LOW);
    const tid = threadId();
    const idle = tid !== undefined && setPolicy(tid, '--idle');
    return () => {
      if (idle) setPolicy(tid, '--other');
      setPriority(before);
    };
  } catch {
    return undefined;
  }
}

/** The calling thread's id, from `/proc/thread-self`; undefined where there is none. */
function threadId(): number | undefined {
  try {
    const tid = Number(readFileSync('/proc/thread-self/stat', 'utf8').split(' ', 1)[0]);
    return Number.isSafeInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sets thread `tid`'s scheduling policy with `chrt` (Node has no
 * sched_setscheduler): `--idle` for SCHED_IDLE, `--other` back to the default.
 */
function setPolicy(tid: number, policy: '--idle' | '--other'): boolean {
  return spawnSync('chrt', [policy, '-p', '0', String(tid)], { stdio: 'ignore' }).status === 0;
}
