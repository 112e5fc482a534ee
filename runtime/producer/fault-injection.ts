/**
 * Test helper: wraps a real log so that chosen `append` calls fail, hang or
 * lose their acknowledgement, the way a broker or disk does. Everything else
 * (and every append that is let through) is the real log's behaviour.
 *
 * @example
 * ```ts
 * const faulty = withAppendFaults(log, (call, next) =>
 *   call === 0 ? Promise.reject(new ConnectionError('broker away')) : next());
 * ```
 */
import type { AppendAck, EventLog, OutgoingRecord } from '../log/log.js';

/**
 * Decides the outcome of append number `call` (0-based): `next()` performs
 * the real append; the returned promise is what the caller sees.
 */
export type AppendFault = (
  call: number,
  next: () => Promise<AppendAck[]>,
  topic: string,
  records: readonly OutgoingRecord[],
) => Promise<AppendAck[]>;

export function withAppendFaults(log: EventLog, fault: AppendFault): EventLog & { readonly appends: number } {
  let calls = 0;
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'appends') return calls;
      if (property === 'append') {
        return (topic: string, records: readonly OutgoingRecord[]) =>
          fault(calls++, () => target.append(topic, records), topic, records);
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as EventLog & { readonly appends: number };
}
