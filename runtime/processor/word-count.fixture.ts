/**
 * A word count for runtime tests: lines are split into words, re-keyed by
 * word through an internal repartition topic (`rec.words-by-word`), and
 * counted in store `word-counts`; each count goes to `rec.word-counts` as
 * `word=n`.
 *
 * @example
 * ```ts
 * const runner = await StreamRunner.start({ topology: wordCount(), log, stateDir, engine: 'rocksdb', deadLetters: jsonLetters, logger });
 * ```
 */
import { numberCodec } from '../state/codecs/index.js';
import type { KeyValueStore } from '../state/store.js';
import type { DeadLetterSerializer } from './dead-letter.js';
import type { Processor, ProcessorContext, StreamRecord } from './processor.js';
import { type Topology, TopologyBuilder } from './topology.js';

export const text = { deserialize: (b: Buffer) => b.toString('utf8') };
export const textOut = { serialize: (v: string) => Buffer.from(v) };
export const jsonLetters: DeadLetterSerializer = {
  serialize: (letter) => Buffer.from(JSON.stringify(letter)),
};

/** `delayMs` per line makes an instance slower than another over the same input. */
const splitWords = (delayMs: number) => (): Processor<string, string> => {
  let ctx: ProcessorContext<string>;
  return {
    init: (c) => {
      ctx = c;
    },
    async process(record) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      for (const word of record.value.split(' '))
        ctx.forward({ key: word, value: word, timestamp: record.timestamp });
    },
  };
};

class CountWords implements Processor<string, string> {
  private counts!: KeyValueStore<number>;
  private ctx!: ProcessorContext<string>;
  init(ctx: ProcessorContext<string>) {
    this.ctx = ctx;
    this.counts = ctx.store('word-counts');
  }
  async process(record: StreamRecord<string>) {
    const n = ((await this.counts.get(record.key!)) ?? 0) + 1;
    this.counts.put(record.key!, n);
    this.ctx.forward({ key: record.key, value: `${record.key}=${n}`, timestamp: record.timestamp });
  }
}

export function wordCount(delayMs = 0): Topology {
  return new TopologyBuilder('word-count')
    .addSource('lines', ['rec.lines'], text)
    .addProcessor('split', splitWords(delayMs), ['lines'])
    .addSink('by-word', 'rec.words-by-word', textOut, ['split'])
    .addSource('words', ['rec.words-by-word'], text)
    .addProcessor('count', () => new CountWords(), ['words'])
    .addStore({ name: 'word-counts', codec: numberCodec }, ['count'])
    .addSink('counts', 'rec.word-counts', textOut, ['count'])
    .build();
}
