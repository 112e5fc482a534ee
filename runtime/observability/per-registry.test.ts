import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { onePerRegistry } from './per-registry.js';

test('metrics are made once per registry, and apart in each registry', async () => {
  const hits = onePerRegistry(
    (registry) => new Counter({ name: 'recstream_test_hits_total', help: 'hits', registers: [registry] }),
  );
  const a = new Registry();
  const b = new Registry();
  assert.equal(hits(a), hits(a));
  assert.notEqual(hits(a), hits(b));
  hits(a).inc(2);
  hits(b).inc();
  assert.match(await a.metrics(), /recstream_test_hits_total 2/);
  assert.match(await b.metrics(), /recstream_test_hits_total 1/);
});
