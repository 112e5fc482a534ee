/**
 * One user's visit: the user's profile and taste as of the visit, the
 * events already decided but not yet due (in event-time order), and when the
 * next request (the next slate the user looks at) happens. The scheduler
 * keeps live sessions in a heap by `key()`.
 */
import type { Interaction } from '../schemas/generated/types.js';
import type { UserProfile } from './population.js';

export class Session {
  /** Decided events not yet emitted, ordered by ts; `head` is the next one. */
  readonly queue: Interaction[] = [];
  head = 0;
  /** Event time of the next request, or NaN when the visit ends after the queue drains. */
  nextRequestTs: number;
  /** Requests made so far. */
  requests = 0;
  /** The last item clicked, or -1; detail and autoplay surfaces follow it. */
  lastItem = -1;
  lastCompleted = false;
  /** Times each item was shown in this visit, kept by closed-loop visits (fatigue); undefined otherwise. */
  shown: Map<number, number> | undefined;

  constructor(
    /** Arrival order; breaks ties between equal times so the order of events is total. */
    readonly seq: number,
    readonly profile: UserProfile,
    readonly id: string,
    readonly device: string,
    readonly country: string,
    readonly startTs: number,
    /** Taste as of the start of the visit (drift is far slower than a visit). */
    readonly taste: Float32Array,
    /** Cumulative weights of choosing each category for a row or search, from the taste. */
    readonly categoryCdf: Float64Array,
  ) {
    this.nextRequestTs = startTs;
  }

  /** When this session next needs attention: its next due event, or its next request. */
  key(): number {
    return this.head < this.queue.length ? this.queue[this.head]!.ts : this.nextRequestTs;
  }

  push(event: Interaction): void {
    this.queue.push(event);
  }

  /** Takes the next due event; frees the queue's storage once drained. */
  shift(): Interaction {
    const event = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    return event;
  }

  get pending(): boolean {
    return this.head < this.queue.length;
  }
}
