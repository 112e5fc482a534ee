import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../errors.js';
import { TopologyBuilder } from '../processor/topology.js';
import { numberCodec } from '../state/codecs/index.js';
import { readActiveNamespace, writeActiveNamespace } from './active-namespace.js';
import {
  checkNamespace,
  generateNamespace,
  internalTopics,
  namespacedStateDir,
  namespacedTopology,
  namespaceTopics,
} from './namespace.js';

const text = { deserialize: (b: Buffer) => b.toString('utf8') };
const textOut = { serialize: (v: string) => Buffer.from(v) };

/** A repartition through an internal topic, an external sink and a store shared by two processors. */
function sample() {
  return new TopologyBuilder('sample')
    .addGlobalTable({
      name: 'dims',
      topic: 'rec.dims',
      deserializer: text,
      reduce: (_c, v) => v ?? undefined,
    })
    .addSource('lines', ['rec.lines'], text)
    .addProcessor('split', () => ({ process() {} }), ['lines'])
    .addSink('by-word', 'rec.words', textOut, ['split'])
    .addSource('words', ['rec.words'], text)
    .addProcessor('count', () => ({ process() {} }), ['words'])
    .addProcessor('audit', () => ({ process() {} }), ['count'])
    .addStore({ name: 'counts', codec: numberCodec }, ['count', 'audit'])
    .addSink('out', 'rec.counts', textOut, ['count', 'audit'])
    .build();
}

test('the default namespace is the topology itself: names and describe() unchanged', () => {
  const topology = sample();
  assert.equal(namespacedTopology(topology, undefined), topology);
  assert.equal(namespacedStateDir('/d/state/sample', undefined), '/d/state/sample');
  assert.match(
    String(topology.describe()),
    /counts \(owner: count, changelog: rec\.count\.counts\.changelog\)/,
  );
});

test('a namespace renames changelogs and internal topics only, and keeps the graph', () => {
  const topology = sample();
  const green = namespacedTopology(topology, 'g1');
  assert.deepEqual([...internalTopics(topology)], ['rec.words']);
  assert.deepEqual(green.sourceTopics(), ['rec.lines', 'rec.words.g1']);
  assert.deepEqual(green.sinkTopics(), ['rec.words.g1', 'rec.counts']);
  assert.deepEqual(
    green.stores.map((s) => [s.name, s.owner, s.changelogTopic]),
    [['counts', 'count', 'rec.count.counts.g1.changelog']],
  );
  assert.deepEqual(
    green.globalTables.map((g) => g.topic),
    ['rec.dims'],
  );
  assert.equal(green.applicationId, 'sample');
  assert.equal(green.node('count'), topology.node('count'), 'processor nodes are shared');
  for (const name of ['lines', 'split', 'words', 'count', 'audit'])
    assert.deepEqual(green.children(name), topology.children(name), `children of ${name}`);
  assert.equal(
    String(green.describe()),
    String(topology.describe())
      .replaceAll('rec.words', 'rec.words.g1')
      .replace('rec.count.counts.changelog', 'rec.count.counts.g1.changelog'),
  );
  assert.deepEqual(namespaceTopics(topology, 'g1'), ['rec.count.counts.g1.changelog', 'rec.words.g1']);
  assert.equal(namespacedStateDir('/d/state/sample', 'g1'), '/d/state/sample@g1');
});

test('namespace names: short [a-z0-9-]; a bad one is a ConfigError naming it', () => {
  for (const good of ['g1', 'blue', '2026-11-21', 'a'.repeat(24)]) assert.equal(checkNamespace(good), good);
  for (const bad of ['', '-g', 'G1', 'g_1', 'g.1', 'g@1', 'a'.repeat(25), 'x/y'])
    assert.throws(
      () => namespacedTopology(sample(), bad),
      (e: unknown) => e instanceof ConfigError && e.message.includes(JSON.stringify(bad)),
    );
  const generated = generateNamespace(new Date(Date.UTC(2026, 10, 21, 9, 5, 7)));
  assert.match(generated, /^g20261121-090507-[0-9a-f]{4}$/);
  assert.equal(checkNamespace(generated), generated);
  assert.notEqual(generateNamespace(), generateNamespace());
});

test('the active pointer: absent is default, written atomically, and a bad file is named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-active-'));
  try {
    const control = join(dir, 'control', 'sample');
    assert.equal(await readActiveNamespace(control), undefined);
    await writeActiveNamespace(control, 'g1');
    assert.equal(await readActiveNamespace(control), 'g1');
    await writeActiveNamespace(control, 'g2');
    assert.equal(await readActiveNamespace(control), 'g2');
    assert.deepEqual(await readdir(control), ['active.json'], 'no temporary file left');
    await writeActiveNamespace(control, undefined);
    assert.equal(await readActiveNamespace(control), undefined);
    await assert.rejects(writeActiveNamespace(control, 'Bad'), ConfigError);

    await writeFile(join(control, 'active.json'), '{"namespace":');
    await assert.rejects(
      readActiveNamespace(control),
      (e: unknown) => e instanceof ConfigError && e.message.includes('active.json is not JSON'),
    );
    await writeFile(join(control, 'active.json'), '{"namespace":"UPPER"}');
    await assert.rejects(readActiveNamespace(control), (e: unknown) => e instanceof ConfigError);
    await writeFile(join(control, 'active.json'), '{"namespace":7}');
    await assert.rejects(
      readActiveNamespace(control),
      (e: unknown) => e instanceof ConfigError && e.message.includes('must be a string'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
