/**
 * Punctuation schedules of one task. Stream-time schedules fire when event
 * time crosses their next boundary (so a replay fires them at the same
 * points); wall-clock schedules fire when the runner's loop sees the clock
 * pass their due time.
 */
import type { Cancellable, PunctuationType } from '../processor.js';

interface Schedule {
  readonly intervalMs: number;
  readonly type: PunctuationType;
  readonly callback: (timestamp: number) => void | Promise<void>;
  next: number;
  cancelled: boolean;
}

export class Punctuations {
  private readonly schedules: Schedule[] = [];

  add(
    intervalMs: number,
    type: PunctuationType,
    callback: Schedule['callback'],
    streamTime: number,
  ): Cancellable {
    if (!(intervalMs >= 1)) throw new RangeError(`punctuation interval must be >= 1 ms, got ${intervalMs}`);
    const schedule: Schedule = {
      intervalMs,
      type,
      callback,
      next: type === 'wall-clock' ? Date.now() + intervalMs : streamTime < 0 ? -1 : streamTime + intervalMs,
      cancelled: false,
    };
    this.schedules.push(schedule);
    return {
      cancel: () => {
        schedule.cancelled = true;
      },
    };
  }

  get isEmpty(): boolean {
    return this.schedules.length === 0;
  }

  /** Fires every schedule of `type` due at `now` (stream time or wall clock), once per call per schedule. */
  async fire(type: PunctuationType, now: number): Promise<void> {
    for (const s of this.schedules) {
      if (s.cancelled || s.type !== type) continue;
      if (s.next < 0) {
        // First record of the task: stream-time schedules start counting here.
        s.next = now + s.intervalMs;
        continue;
      }
      if (now < s.next) continue;
      // Skip missed intervals instead of firing a burst: Kafka Streams does the same.
      s.next = now + s.intervalMs - ((now - s.next) % s.intervalMs);
      await s.callback(now);
    }
    for (let i = this.schedules.length - 1; i >= 0; i--)
      if (this.schedules[i]!.cancelled) this.schedules.splice(i, 1);
  }
}
