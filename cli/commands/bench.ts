import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureRun } from '../../bench/provenance.js';
import { writeReport } from '../../bench/report/report.js';
import { formatTable, type Scale } from '../../bench/result.js';
import { PACKAGE_ROOT, RESULTS_DIR, writeResults } from '../../bench/results-files.js';
import { SUITES } from '../../bench/suites/index.js';
import type { Command } from '../command.js';
import { choiceOption } from '../option-values.js';
import { parseThreads } from '../stream-threads.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: `run a benchmark suite (${Object.keys(SUITES).join(', ')}, all) into bench/results/, or report them in docs/benchmarks.md`,
  usage: [
    'recstream bench <suite|all> [--scale small|full] [--cpu-profile DIR] [--threads 1,2,...]',
    '    runs the suite(s); writes bench/results/<suite>.json (the latest run) and appends',
    '    to bench/results/history/<suite>.jsonl, each result with its time, commit and machine',
    '    --cpu-profile DIR: where the topology suite spends the CPU, per application, into DIR',
    '    (a .cpuprofile and a table each); such a run is profiled, so nothing is recorded',
    '    --threads 1,2,...: the stream-thread counts the threads suite compares (default 1,2)',
    'recstream bench report',
    '    regenerates docs/benchmarks.md and the README headline table from bench/results/',
  ].join('\n'),
  options: { scale: { type: 'string' }, 'cpu-profile': { type: 'string' }, threads: { type: 'string' } },
  async run({ positionals, values }) {
    const name = positionals[0];
    if (name === 'report') {
      if (!existsSync(RESULTS_DIR)) {
        process.stderr.write(`recstream bench report: no ${RESULTS_DIR}: run it in a recstream checkout\n`);
        return 1;
      }
      for (const path of await writeReport(PACKAGE_ROOT)) process.stdout.write(`written ${path}\n`);
      return 0;
    }
    const scale = choiceOption<Scale>(values.scale, '--scale', ['small', 'full'], 'small');
    if (!name || (name !== 'all' && !SUITES[name])) {
      process.stderr.write(
        `recstream bench: name a suite (${[...Object.keys(SUITES), 'all'].join(', ')}) or report\n`,
      );
      return 2;
    }
    const cpuProfileDir = values['cpu-profile'] as string | undefined;
    const threads =
      typeof values.threads === 'string' ? values.threads.split(',').map((t) => parseThreads(t)) : undefined;
    if (cpuProfileDir !== undefined) await mkdir(cpuProfileDir, { recursive: true });
    for (const suite of name === 'all' ? Object.keys(SUITES) : [name]) {
      const workDir = await mkdtemp(join(tmpdir(), `recstream-bench-${suite}-`));
      try {
        const run = captureRun(PACKAGE_ROOT);
        const results = await SUITES[suite]!({
          scale,
          workDir,
          progress: (m) => process.stderr.write(`[${suite}] ${m}\n`),
          ...(cpuProfileDir === undefined ? {} : { cpuProfileDir }),
          ...(threads === undefined ? {} : { threads }),
        });
        // A profiled run's figures carry the profiler's cost: shown, never recorded.
        if (cpuProfileDir !== undefined) {
          process.stdout.write(
            `${formatTable(results)}\n(profiled: not recorded; profiles in ${cpuProfileDir})\n\n`,
          );
          continue;
        }
        const path = await writeResults(RESULTS_DIR, suite, results, run);
        process.stdout.write(`${formatTable(results)}\n(written to ${path} and its history)\n\n`);
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    }
    process.stdout.write('`recstream bench report` regenerates docs/benchmarks.md from the results.\n');
    return 0;
  },
};
