/**
 * Importing MovieLens 100K again into a data dir that already holds it, as
 * an operator would (`recstream import movielens`, `recstream process
 * --once`), counts nothing twice. The ratings file is in random time order,
 * so the first copies of most ratings arrive far behind their task's
 * stream time; the ids are remembered from their arrival all the same.
 *
 * The data set is read from the shared data folder (`RECSTREAM_BENCH_DATA_DIR`,
 * else `../shared/data`); without it the test is skipped, and fails under
 * `CI=true`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BENCH_DATA_DIR } from '../bench/datasets.js';
import { pathExists, runCliOk, stateDigests } from '../test/cli.js';
import { countedInteractions } from '../test/interaction-counts.js';

const ML_100K = join(BENCH_DATA_DIR, 'ml-100k');
const APPS = ['interaction-counts', 'features'];
const PARTITIONS = 3;
const ENV = { RECSTREAM_PARTITIONS: String(PARTITIONS) };

test('re-importing ml-100k into a data dir that holds it leaves every feature and count store as it was', {
  timeout: 600_000,
}, async (t) => {
  if (!(await pathExists(join(ML_100K, 'u.data')))) {
    const missing = `MovieLens 100K is not in ${ML_100K} (set RECSTREAM_BENCH_DATA_DIR)`;
    if (process.env.CI === 'true') assert.fail(missing);
    return t.skip(missing);
  }
  const dir = await mkdtemp(join(tmpdir(), 'recstream-reimport-'));
  const data = join(dir, 'data');
  const importAndProcess = async () => {
    await runCliOk(['import', 'movielens', ML_100K, '--data-dir', data], ENV);
    await runCliOk(['process', '--once', '--app', APPS.join(','), '--data-dir', data], ENV);
  };
  try {
    await importAndProcess();
    const once = await stateDigests(data, APPS, ENV);
    assert.equal(await countedInteractions(data, PARTITIONS), 100_000);

    await importAndProcess();
    const twice = await stateDigests(data, APPS, ENV);
    assert.equal(await countedInteractions(data, PARTITIONS), 100_000);
    const changed = Object.keys(twice).filter((store) => twice[store] !== once[store]);
    // Only bookkeeping moves: the memory of ids counts the duplicates, user-features' clock its input position.
    const bookkeeping = changed.filter((store) =>
      /^(interaction-counts|features)\/(event-ids|user-clock)\//.test(store),
    );
    assert.deepEqual(changed, bookkeeping);
    for (const store of ['features/user-view/0', 'features/item-view/0', 'interaction-counts/counts/0'])
      assert.ok(store in once, `${store} is digested`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
