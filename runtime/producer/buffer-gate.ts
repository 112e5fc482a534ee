/**
 * The producer's bounded buffer, as a counting gate over records and bytes.
 * A send reserves room chunk by chunk; each chunk is handed over (`grant`)
 * synchronously the moment it fits, and sends are served strictly first
 * come, first served with all of one send's chunks before the next send's.
 * So records enter the partition queues in the order their sends were
 * called, even when a large send has to wait for room half-way.
 *
 * @example
 * ```ts
 * const gate = new BufferGate(10_000, 32 << 20);
 * await gate.reserve([{ records: 100, bytes: 12_000 }], (i) => queueChunk(i));
 * gate.release(100, 12_000);   // when those records left the producer
 * ```
 */
export interface Chunk {
  readonly records: number;
  readonly bytes: number;
}

interface Waiter {
  readonly chunks: readonly Chunk[];
  next: number;
  readonly grant: (index: number) => void;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class BufferGate {
  private records = 0;
  private bytes = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
  ) {}

  /** Records currently held. */
  get bufferedRecords(): number {
    return this.records;
  }

  /** Bytes currently held. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Takes room for all of `chunk` at once if it fits and nobody is waiting; false otherwise. */
  tryAcquire(chunk: Chunk): boolean {
    if (this.waiters.length > 0 || !this.fits(chunk)) return false;
    this.take(chunk);
    return true;
  }

  /**
   * Takes room for each chunk in turn, calling `grant(i)` as chunk i gets it;
   * resolves when every chunk has been granted.
   */
  reserve(chunks: readonly Chunk[], grant: (index: number) => void): Promise<void> {
    // The executor runs synchronously: whatever fits now is granted before this returns.
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { chunks, next: 0, grant, resolve, reject };
      if (this.waiters.length === 0 && this.serve(waiter)) resolve();
      else this.waiters.push(waiter);
    });
  }

  release(records: number, bytes: number): void {
    this.records -= records;
    this.bytes -= bytes;
    while (this.waiters.length > 0) {
      const head = this.waiters[0]!;
      if (!this.serve(head)) return;
      this.waiters.shift();
      head.resolve();
    }
  }

  /** Fails every waiter (the producer is closing); chunks already granted stay granted. */
  rejectWaiters(err: unknown): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }

  /** Grants what fits of a waiter's chunks; true when all are granted. */
  private serve(waiter: Waiter): boolean {
    while (waiter.next < waiter.chunks.length) {
      const chunk = waiter.chunks[waiter.next]!;
      if (!this.fits(chunk)) return false;
      this.take(chunk);
      waiter.grant(waiter.next++);
    }
    return true;
  }

  private take(chunk: Chunk): void {
    this.records += chunk.records;
    this.bytes += chunk.bytes;
  }

  // An empty buffer takes anything, so one record larger than the byte limit cannot wait forever.
  private fits(chunk: Chunk): boolean {
    if (this.records === 0) return true;
    return this.records + chunk.records <= this.maxRecords && this.bytes + chunk.bytes <= this.maxBytes;
  }
}
