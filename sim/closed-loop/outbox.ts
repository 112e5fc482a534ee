/**
 * The events of closed-loop visits, held until their event time comes and
 * then posted to the responder's `POST /v1/events` in batches, the way a
 * client app sends what its user did. A visit decides a click and what
 * follows it (the watch, a like) at once; each event leaves only when the
 * clock reaches it, so the platform sees them in the order and at the time
 * they happen.
 *
 * @example
 * ```ts
 * const outbox = new Outbox('http://127.0.0.1:8080');
 * outbox.add(events);
 * await outbox.flushDue(Date.now());
 * await outbox.flushAll();
 * ```
 */
import type { Interaction } from '../../schemas/generated/types.js';

/** Largest batch `POST /v1/events` takes. */
const BATCH = 1000;

export class Outbox {
  private pending: Interaction[] = [];
  private sorted = true;
  /** Events accepted by the responder. */
  posted = 0;

  constructor(private readonly responder: string) {}

  add(events: readonly Interaction[]): void {
    for (const event of events) this.pending.push(event);
    this.sorted = false;
  }

  get size(): number {
    return this.pending.length;
  }

  /** Posts every event due by `now`. */
  async flushDue(now: number): Promise<void> {
    if (!this.sorted) {
      this.pending.sort((a, b) => a.ts - b.ts);
      this.sorted = true;
    }
    let due = 0;
    while (due < this.pending.length && this.pending[due]!.ts <= now) due++;
    if (due === 0) return;
    const batch = this.pending.slice(0, due);
    this.pending = this.pending.slice(due);
    for (let i = 0; i < batch.length; i += BATCH) await this.post(batch.slice(i, i + BATCH));
  }

  /** Posts everything still held, whatever its time (the end of a run). */
  async flushAll(): Promise<void> {
    await this.flushDue(Number.POSITIVE_INFINITY);
  }

  private async post(events: readonly Interaction[]): Promise<void> {
    const headers = { 'content-type': 'application/json' };
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(`${this.responder}/v1/events`, {
        method: 'POST',
        headers,
        body: JSON.stringify(events),
      });
      if (response.status === 202) {
        this.posted += events.length;
        return;
      }
      const body = await response.text();
      // 429 and 503 ask for a later try; anything else (a 401 from a responder that wants
      // credentials, a 400 naming a field) is a refusal worth stopping for.
      if ((response.status === 429 || response.status === 503) && attempt < 20) {
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        continue;
      }
      throw new Error(`POST /v1/events answered ${response.status}: ${body.slice(0, 500)}`);
    }
  }
}
