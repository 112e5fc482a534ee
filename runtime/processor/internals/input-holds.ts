/**
 * The input positions a task's processors ask to keep
 * (`ProcessorContext.holdInput`): a processor that buffers input records in
 * memory briefly holds the offset of the oldest one it still needs instead
 * of writing each to a store, so a restart delivers them again and it
 * rebuilds its buffer. A commit stores each topic's position lowered to
 * its holds.
 */
import { ProcessingError } from '../../errors.js';

export class InputHolds {
  /** Held offset per topic and processor. */
  private readonly holds = new Map<string, Map<string, number>>();

  /** Holds `topic` at `offset` for `processor`; null releases that processor's hold. */
  set(processor: string, topic: string, offset: number | null): void {
    let byProcessor = this.holds.get(topic);
    if (offset === null) {
      byProcessor?.delete(processor);
      if (byProcessor?.size === 0) this.holds.delete(topic);
      return;
    }
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new ProcessingError(`processor ${processor} holds ${topic} at invalid offset ${offset}`);
    if (byProcessor === undefined) {
      byProcessor = new Map();
      this.holds.set(topic, byProcessor);
    }
    byProcessor.set(processor, offset);
  }

  /**
   * The positions to commit: `consumed` (next offset per topic), lowered to
   * the holds. The same map when nothing is held, so the common case copies
   * nothing.
   */
  committable(consumed: ReadonlyMap<string, number>): ReadonlyMap<string, number> {
    if (this.holds.size === 0) return consumed;
    const out = new Map(consumed);
    for (const [topic, byProcessor] of this.holds) {
      for (const offset of byProcessor.values()) {
        const lowest = out.get(topic);
        if (lowest === undefined || offset < lowest) out.set(topic, offset);
      }
    }
    return out;
  }
}
