import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Interaction } from '../schemas/generated/types.js';
import { expand, InteractionColumns } from './compact-interactions.js';
import { TopicPacker, unpack } from './packed-batch.js';
import { Simulator } from './simulator.js';

const sim = new Simulator({ seed: 2, users: 200, items: 80, events: 3000, days: 3 });
const events: Interaction[] = [];
for (const r of sim.records()) if (r.topic === 'rec.interactions') events.push(r.value);

test('interactions sent as columns come back equal, field for field', () => {
  const columns = new InteractionColumns(sim.idPrefix, events.length);
  for (const e of events) columns.add(e);
  const batch = columns.take();
  assert.equal(batch.count, events.length);
  assert.deepEqual(expand(batch, sim.idPrefix), events);
  assert.equal(columns.count, 0, 'the packer starts over after take');
});

test('packed records come back with their keys, values and timestamps', () => {
  const packer = new TopicPacker('u', 3);
  const values = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from('abc')];
  values.forEach((v, i) => {
    packer.add(i * 10, v, 1000 + i);
  });
  assert.throws(() => packer.add(99, Buffer.alloc(1), 0), /at most 3 records/);
  const records = unpack(packer.take());
  assert.deepEqual(
    records.map((r) => [r.key, [...r.value!], r.timestamp]),
    values.map((v, i) => [`u${i * 10}`, [...v], 1000 + i]),
  );
  assert.deepEqual(unpack(packer.take()), []);
});
