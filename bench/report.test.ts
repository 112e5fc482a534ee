/**
 * The committed benchmark report is what `recstream bench report` makes of
 * the committed results, and what `recstream bench` records: provenance on
 * every result, the latest run in `<set>.json`, each measurement once in
 * the history.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { captureRun, stamp } from './provenance.js';
import { HEADLINE_END, HEADLINE_START, headlineTable, replaceHeadline } from './report/headline.js';
import { benchmarksPage } from './report/page.js';
import { renderReport } from './report/report.js';
import { metric, type RecordedResult } from './result.js';
import { historyPath, PACKAGE_ROOT, readResultSets, writeResults } from './results-files.js';

describe('bench report', () => {
  test('docs/benchmarks.md and the README headline block are up to date with bench/results', async () => {
    const files = await renderReport(PACKAGE_ROOT);
    for (const [relative, text] of Object.entries(files)) {
      const committed = await readFile(join(PACKAGE_ROOT, relative), 'utf8');
      assert.equal(
        committed,
        text,
        `${relative} is stale: run \`node dist/cli/main.js bench report\` and commit it`,
      );
    }
  });

  test('every committed result says when, on what commit and where it was measured', async () => {
    for (const set of await readResultSets(join(PACKAGE_ROOT, 'bench', 'results'))) {
      for (const result of [...set.latest, ...set.history]) {
        assert.ok(!Number.isNaN(Date.parse(result.ts)), `${set.name}/${result.name}: ts`);
        assert.ok(result.commit === null ? result.note : /^[0-9a-f]{40}$/.test(result.commit));
        assert.ok(result.machine, `${set.name}/${result.name}: machine`);
      }
      assert.ok(set.history.length >= set.latest.length, `${set.name}: history holds the latest run`);
    }
  });

  test('every row of a latest file is a row of its history, provenance included', async () => {
    for (const set of await readResultSets(join(PACKAGE_ROOT, 'bench', 'results'))) {
      const history = new Set(set.history.map((row) => JSON.stringify(row)));
      for (const row of set.latest)
        assert.ok(
          history.has(JSON.stringify(row)),
          `${set.name}/${row.name} (${row.ts}) is not in its history`,
        );
    }
  });

  test('a run writes the latest file and appends only what it measured to the history', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-results-'));
    try {
      const run = captureRun(PACKAGE_ROOT);
      const earlier = { ...run, ts: '2020-01-01T00:00:00.000Z' };
      await writeResults(
        dir,
        'train',
        [metric('train', 'examples_per_s', 1, 'examples/s', true, {})],
        earlier,
      );
      const [kept] = JSON.parse(await readFile(join(dir, 'train.json'), 'utf8')) as RecordedResult[];
      const fresh = metric('train', 'epoch_seconds', 12.5, 's', false, { runs: 3, device: 'cuda:X' });
      await writeResults(dir, 'train', [fresh, kept!], run);
      await writeResults(dir, 'train', [fresh], run);
      const latest = JSON.parse(await readFile(join(dir, 'train.json'), 'utf8')) as RecordedResult[];
      assert.equal(latest.length, 1);
      assert.equal(latest[0]!.ts, run.ts);
      assert.equal(latest[0]!.machine.device, 'cuda:X');
      assert.equal(typeof latest[0]!.machine.cores, 'number');
      const history = (await readFile(historyPath(dir, 'train'), 'utf8')).trim().split('\n');
      assert.deepEqual(
        history.map((line) => JSON.parse(line).name),
        ['examples_per_s', 'epoch_seconds', 'epoch_seconds'],
        'the kept result is not appended again',
      );
      const [set] = await readResultSets(dir);
      assert.match(benchmarksPage([set!]), /\| epoch_seconds \| {2}\| 12\.5 s \|/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a kept result whose provenance no run recorded is refused, and nothing is written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-results-'));
    try {
      const run = captureRun(PACKAGE_ROOT);
      await writeResults(dir, 'train', [metric('train', 'examples_per_s', 1, 'examples/s', true, {})], run);
      const [kept] = JSON.parse(await readFile(join(dir, 'train.json'), 'utf8')) as RecordedResult[];
      const before = await readFile(historyPath(dir, 'train'), 'utf8');
      for (const forged of [
        { ...kept!, ts: '2020-01-01T00:00:00.000Z' },
        { ...kept!, commit: 'f'.repeat(40) },
      ])
        await assert.rejects(
          writeResults(dir, 'train', [forged], run),
          /examples_per_s: a kept result .* not a row of/,
        );
      assert.equal(await readFile(historyPath(dir, 'train'), 'utf8'), before);
      assert.equal(JSON.parse(await readFile(join(dir, 'train.json'), 'utf8'))[0].ts, run.ts);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a row whose provenance was edited after its run shows it, with what happened', () => {
    const row = {
      ...stamp(metric('quality', 'recall_at_20', 0.3, 'ratio', true, {}), captureRun(PACKAGE_ROOT)),
      commit: '0123456789abcdef0123456789abcdef01234567',
      measured_by: 'suite' as const,
      provenance_edited: "Commit abc1234 changed this row's commit.",
    };
    const page = benchmarksPage([{ name: 'quality', latest: [row], history: [row] }]);
    assert.match(
      page,
      /> \*\*Provenance edited after the run:\*\* Commit abc1234 changed this row's commit\./,
    );
    assert.match(page, /\| `0123456` \(edited\) \| recall_at_20 \|/);
  });

  test('the commit is recorded from git, or said to be unknown where there is no checkout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-no-git-'));
    try {
      const outside = captureRun(dir);
      assert.equal(outside.commit, null);
      assert.equal(outside.dirty, null);
      assert.match(outside.note ?? '', /commit unknown/);
      if (existsSync(join(PACKAGE_ROOT, '.git')))
        assert.match(captureRun(PACKAGE_ROOT).commit ?? '', /^[0-9a-f]{40}$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the headline block replaces only what lies between its markers, and only where they are', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-headline-'));
    try {
      await writeFile(join(dir, 'x.json'), '[]\n');
      const block = headlineTable(await readResultSets(dir));
      assert.equal(replaceHeadline('# no markers\n', block), undefined);
      const readme = `before\n${HEADLINE_START}\nold\n${HEADLINE_END}\nafter\n`;
      const replaced = replaceHeadline(readme, block)!;
      assert.ok(replaced.startsWith(`before\n${HEADLINE_START}\n| figure |`));
      assert.ok(replaced.endsWith(`${HEADLINE_END}\nafter\n`));
      assert.ok(!replaced.includes('old'));
      assert.equal(replaceHeadline(replaced, block), replaced);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
