/** The `co-visitation` topology is wired as documented (describe() pinned). */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../runtime/config.js';
import { openEmbeddedRegistry } from '../runtime/registry/embedded/embedded-registry.js';
import { platformSerde } from '../schemas/platform.js';
import { APPLICATIONS } from './index.js';

test('the co-visitation topology is wired as documented (describe() pinned)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-co-visitation-describe-'));
  try {
    const registry = await openEmbeddedRegistry({ dataDir: dir });
    const topology = await APPLICATIONS['co-visitation']!(platformSerde(registry), loadConfig({}));
    assert.equal(
      String(topology.describe()),
      [
        'Topology: co-visitation',
        '    Source: interactions (topics: [rec.interactions])',
        '      --> co-visitation-sessions',
        '    Processor: co-visitation-sessions (stores: [session-items, event-ids, co-visit-clock])',
        '      --> co-visits',
        '      <-- interactions, users',
        '    Sink: co-visits (topic: rec.co-visits)',
        '      <-- co-visitation-sessions',
        '    Source: users (topics: [rec.users])',
        '      --> co-visitation-sessions',
        '    Source: co-visits-in (topics: [rec.co-visits])',
        '      --> co-visitation',
        '    Processor: co-visitation (stores: [co-visitation, co-visit-ids, co-visit-merge])',
        '      <-- co-visits-in',
        '  Stores:',
        '    session-items (owner: co-visitation-sessions, changelog: rec.co-visitation-sessions.session-items.changelog)',
        '    event-ids (owner: co-visitation-sessions, changelog: rec.co-visitation-sessions.event-ids.changelog)',
        '    co-visit-clock (owner: co-visitation-sessions, changelog: rec.co-visitation-sessions.co-visit-clock.changelog)',
        '    co-visitation (owner: co-visitation, changelog: rec.co-visitation.co-visitation.changelog)',
        '    co-visit-ids (owner: co-visitation, changelog: rec.co-visitation.co-visit-ids.changelog)',
        '    co-visit-merge (owner: co-visitation, changelog: rec.co-visitation.co-visit-merge.changelog)',
        '  Global tables:',
        '    catalog-versions (topic: rec.items, all partitions)',
        '    opt-outs (topic: rec.users, all partitions)',
      ].join('\n'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
