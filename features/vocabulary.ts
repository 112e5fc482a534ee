/**
 * Vocabularies of a training set. While examples are gathered each value is
 * interned in the order it is met (a provisional index); `freeze` sorts the
 * values, so the final indices depend on the set of values and not on the
 * order the log was read in, and returns the table that maps provisional
 * indices to final ones. Index 0 is unknown (padding) in both.
 *
 * @example
 * ```ts
 * const users = new VocabularyBuilder('<unk>');
 * const provisional = users.intern('u7');
 * const { values, remap } = users.freeze();
 * values[remap[provisional]!]; // 'u7'
 * ```
 */
import { setImmediate } from 'node:timers/promises';

export class VocabularyBuilder {
  private readonly index = new Map<string, number>();
  private readonly values: string[];

  constructor(zero: string) {
    this.values = [zero];
  }

  intern(value: string | null | undefined): number {
    if (value === null || value === undefined || value === '') return 0;
    let at = this.index.get(value);
    if (at === undefined) {
      at = this.values.length;
      this.index.set(value, at);
      this.values.push(value);
    }
    return at;
  }

  get size(): number {
    return this.values.length;
  }

  freeze(): { values: string[]; remap: Int32Array } {
    const sorted = this.values.slice(1).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const final = new Map(sorted.map((v, i) => [v, i + 1]));
    const remap = new Int32Array(this.values.length);
    for (let i = 1; i < this.values.length; i++) remap[i] = final.get(this.values[i]!)!;
    return { values: [this.values[0]!, ...sorted], remap };
  }
}

/** Values indexed between two turns of the event loop by `Vocabulary.build` (~1 ms). */
const BUILD_SLICE = 2048;

/** A frozen vocabulary, as `dataset.json` lists it: value → index, unknown → 0. */
export class Vocabulary {
  private readonly index: Map<string, number>;

  /** `index`: @internal the value → index map `build` made. */
  constructor(
    readonly values: readonly string[],
    index?: Map<string, number>,
  ) {
    this.index = index ?? new Map(values.map((v, i) => [v, i]));
    this.index.delete(values[0]!);
  }

  /**
   * The same vocabulary, built in slices with `pause` between them (by
   * default a turn of the event loop): a responder loading a new model
   * indexes its 100,000 item ids (~25–40 ms at once) while it goes on
   * answering requests.
   */
  static async build(
    values: readonly string[],
    pause: () => Promise<unknown> = () => setImmediate(),
  ): Promise<Vocabulary> {
    const index = new Map<string, number>();
    for (let i = 0; i < values.length; i++) {
      index.set(values[i]!, i);
      if (i % BUILD_SLICE === BUILD_SLICE - 1) await pause();
    }
    return new Vocabulary(values, index);
  }

  get(value: string | null | undefined): number {
    if (value === null || value === undefined) return 0;
    return this.index.get(value) ?? 0;
  }

  get size(): number {
    return this.values.length;
  }
}
