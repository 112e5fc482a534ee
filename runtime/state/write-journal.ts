/**
 * The writes of the record in progress, so that a record that fails can
 * take them back: each key written and the pending write it replaced
 * (`rollback` hands them back latest first). Kept as parallel arrays reused
 * from record to record, since a Map cleared per record cost more than the
 * writes it journaled.
 *
 * @example
 * ```ts
 * journal.begin();
 * journal.note('u1', dirty); // before dirty.set('u1', value)
 * journal.rollback((key, before) => (before === undefined ? dirty.delete(key) : dirty.set(key, before)));
 * ```
 */

/** In a record's journal: the key had no pending write before the write journaled. */
const NOT_PENDING: unique symbol = Symbol('recstream.state.not-pending');

/** Journal slots kept from record to record; a record that wrote more gets fresh arrays after it. */
const JOURNAL_KEPT = 1024;

/** The journal of one store's writes; `P` is what its pending writes hold. */
export class WriteJournal<P> {
  private keys: string[] = [];
  private before: (P | typeof NOT_PENDING)[] = [];
  private length = 0;
  private recording = false;

  /** A record starts: its writes are noted until `end`. */
  begin(): void {
    this.length = 0;
    this.recording = true;
  }

  /** The record ended: its writes stand. */
  end(): void {
    this.recording = false;
    // A record that wrote many keys would otherwise keep their earlier values alive until it is outdone.
    if (this.length > JOURNAL_KEPT) {
      this.keys = [];
      this.before = [];
    }
    this.length = 0;
  }

  /** Notes, while a record is in progress, that `key` is about to be written over its entry in `pending`. */
  note(key: string, pending: ReadonlyMap<string, P>): void {
    if (!this.recording) return;
    const i = this.length++;
    this.keys[i] = key;
    this.before[i] = pending.get(key) ?? NOT_PENDING;
  }

  /**
   * The record failed: hands each key it wrote to `undo` with what was
   * pending for it before (undefined: nothing), latest first, so a key
   * written twice ends with what it held before the first write; then ends
   * the record.
   */
  rollback(undo: (key: string, before: P | undefined) => void): void {
    for (let i = this.length - 1; i >= 0; i--) {
      const before = this.before[i]!;
      undo(this.keys[i]!, before === NOT_PENDING ? undefined : before);
    }
    this.end();
  }

  /**
   * A commit that held `flushed` failed and its writes are pending again: a
   * key this record wrote that had no pending write but was in the commit
   * held the commit's write before the record.
   */
  rebase(flushed: ReadonlyMap<string, P>): void {
    for (let i = 0; i < this.length; i++) {
      const key = this.keys[i]!;
      if (this.before[i] === NOT_PENDING && flushed.has(key)) this.before[i] = flushed.get(key)!;
    }
  }
}
