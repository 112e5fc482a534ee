/**
 * The benchmarks page tells apart rows of one name: each shows the settings
 * it differs in, and what every row shares is written once above the table.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stamp } from '../provenance.js';
import { metric, type Provenance, type RecordedResult } from '../result.js';
import { benchmarksPage } from './page.js';

const MACHINE = { cpu: 'Test CPU', cores: 2, load_avg_1m: 0.5, memory_gib: 8, node: 'v20' };

function run(ts: string): Provenance {
  return { ts, commit: 'a'.repeat(40), dirty: false, machine: MACHINE };
}

/** An ANN sweep's rows: seven shared settings, then what varies. */
function searchRow(at: Provenance, varying: Record<string, unknown>, value: number): RecordedResult {
  const shared = {
    model: 'recstream@1',
    items: 93955,
    dimensions: 65,
    queries: 200,
    k: 100,
    quantization: 'f16',
  };
  return stamp(metric('ann', 'search_us', value, 'µs', false, { ...shared, ...varying, runs: 3 }), at);
}

/** The cells of the page's table rows whose name cell is `name`. */
function rows(page: string, name: string): string[][] {
  return page
    .split('\n')
    .filter((line) => line.includes(`| ${name} |`))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

test('rows that differ in one setting among several shared ones show it, and the shared ones once', () => {
  const at = run('2026-11-26T13:53:00.000Z');
  const latest = [32, 64, 128].map((expansion) => searchRow(at, { expansion }, expansion * 2));
  const page = benchmarksPage([{ name: 'ann', latest, history: latest }]);
  const [current, history] = page.split('### History');

  assert.deepEqual(
    rows(current!, 'search_us').map((cells) => cells[1]),
    ['expansion=32', 'expansion=64', 'expansion=128'],
  );
  assert.deepEqual(
    rows(history!, 'search_us').map((cells) => cells[3]),
    ['expansion=32', 'expansion=64', 'expansion=128'],
  );
  assert.match(
    current!,
    /\nSettings every row shares: model=recstream@1, items=93,955, dimensions=65, queries=200, k=100, quantization=f16, runs=3\.\n/,
  );
  assert.equal(current!.match(/items=/g)?.length, 1, 'a shared setting is not repeated per row');
});

test('a setting that follows from another, or changes only between runs, is not shown as a variant', () => {
  const first = run('2026-11-26T13:53:00.000Z');
  const second = run('2026-11-27T09:00:00.000Z');
  // `source` goes with `kind`; `build_ms` is measured, so it differs from run to run.
  const sweep = (at: Provenance, build_ms: number) =>
    [
      { kind: 'ip', source: 'world' },
      { kind: 'mips', source: 'built' },
    ].flatMap((index) =>
      [32, 64].map((expansion) => searchRow(at, { ...index, expansion, build_ms }, expansion)),
    );
  const latest = sweep(second, 1200);
  const page = benchmarksPage([{ name: 'ann', latest, history: [...sweep(first, 900), ...latest] }]);
  const [current, history] = page.split('### History');

  assert.deepEqual(
    rows(current!, 'search_us').map((cells) => [cells[1], cells[5]]),
    [
      ['kind=ip, expansion=32', 'source=world'],
      ['kind=ip, expansion=64', 'source=world'],
      ['kind=mips, expansion=32', 'source=built'],
      ['kind=mips, expansion=64', 'source=built'],
    ],
  );
  assert.deepEqual(
    rows(history!, 'search_us').map((cells) => cells[3]),
    [...Array(2)].flatMap(() => [
      'kind=ip, expansion=32',
      'kind=ip, expansion=64',
      'kind=mips, expansion=32',
      'kind=mips, expansion=64',
    ]),
  );
});
