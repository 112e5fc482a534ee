import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TopologyError } from '../errors.js';
import type { ValueCodec } from '../state/store.js';
import { TopologyBuilder } from './topology.js';

const bytes = { deserialize: (b: Buffer) => b };
const codec: ValueCodec<number> = {
  encode: (n) => Buffer.from(String(n)),
  decode: (b) => Number(b.toString()),
};

function sample() {
  return new TopologyBuilder('sample')
    .addSource('in', ['rec.a', 'rec.b'], bytes)
    .addProcessor('first', () => ({ process() {} }), ['in'])
    .addProcessor('second', () => ({ process() {} }), ['first'])
    .addSink('out', 'rec.out', { serialize: (v: Buffer) => v }, ['first', 'second'])
    .addStore({ name: 'counts', codec }, ['first', 'second'])
    .build();
}

test('describe() prints sources, processors, sinks and stores with their edges', () => {
  assert.equal(
    String(sample().describe()),
    [
      'Topology: sample',
      '    Source: in (topics: [rec.a, rec.b])',
      '      --> first',
      '    Processor: first (stores: [counts])',
      '      --> second, out',
      '      <-- in',
      '    Processor: second (stores: [counts])',
      '      --> out',
      '      <-- first',
      '    Sink: out (topic: rec.out)',
      '      <-- first, second',
      '  Stores:',
      '    counts (owner: first, changelog: rec.first.counts.changelog)',
    ].join('\n'),
  );
});

test('describe() is the graph as data: nodes depth first with their edges, stores with changelogs', () => {
  const d = sample().describe();
  assert.deepEqual(
    { ...d, toString: undefined },
    {
      applicationId: 'sample',
      nodes: [
        { kind: 'source', name: 'in', topics: ['rec.a', 'rec.b'], children: ['first'] },
        {
          kind: 'processor',
          name: 'first',
          stores: ['counts'],
          children: ['second', 'out'],
          parents: ['in'],
        },
        { kind: 'processor', name: 'second', stores: ['counts'], children: ['out'], parents: ['first'] },
        { kind: 'sink', name: 'out', topic: 'rec.out', parents: ['first', 'second'] },
      ],
      stores: [{ name: 'counts', owner: 'first', changelogTopic: 'rec.first.counts.changelog' }],
      globalTables: [],
      toString: undefined,
    },
  );
  assert.ok(Object.isFrozen(d));
});

test('topics and children are derived from the declaration', () => {
  const t = sample();
  assert.deepEqual(t.sourceTopics(), ['rec.a', 'rec.b']);
  assert.deepEqual(t.sinkTopics(), ['rec.out']);
  assert.deepEqual(t.children('first'), ['second', 'out']);
});

test('inconsistent declarations are refused with the name of what is wrong', () => {
  assert.throws(() => new TopologyBuilder('Bad Name'), TopologyError);
  assert.throws(
    () =>
      new TopologyBuilder('t')
        .addSource('in', ['x'], bytes)
        .addProcessor('p', () => ({ process() {} }), ['nope'])
        .build(),
    /processor p names unknown parent nope/,
  );
  assert.throws(
    () => new TopologyBuilder('t').addSource('in', ['x'], bytes).addSource('in', ['y'], bytes),
    /node in is declared twice/,
  );
  assert.throws(
    () =>
      new TopologyBuilder('t')
        .addSource('in', ['x'], bytes)
        .addStore({ name: 's', codec }, ['ghost'])
        .build(),
    /store s is connected to unknown processor ghost/,
  );
});
