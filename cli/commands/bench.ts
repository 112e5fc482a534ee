import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable, type Scale, writeResults } from '../../bench/result.js';
import { SUITES } from '../../bench/suites/index.js';
import type { Command } from '../command.js';
import { choiceOption } from '../option-values.js';

/** `bench/results/` of the package, whether run from dist/ or a checkout. */
const RESULTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bench/results');

export const benchCommand: Command = {
  name: 'bench',
  summary: `run a benchmark suite (${Object.keys(SUITES).join(', ')}, all); writes bench/results/<suite>.json`,
  usage: 'recstream bench <suite|all> [--scale small|full]',
  options: { scale: { type: 'string' } },
  async run({ positionals, values }) {
    const name = positionals[0];
    const scale = choiceOption<Scale>(values.scale, '--scale', ['small', 'full'], 'small');
    if (!name || (name !== 'all' && !SUITES[name])) {
      process.stderr.write(`recstream bench: name a suite: ${[...Object.keys(SUITES), 'all'].join(', ')}\n`);
      return 2;
    }
    for (const suite of name === 'all' ? Object.keys(SUITES) : [name]) {
      const workDir = await mkdtemp(join(tmpdir(), `recstream-bench-${suite}-`));
      try {
        const results = await SUITES[suite]!({
          scale,
          workDir,
          progress: (m) => process.stderr.write(`[${suite}] ${m}\n`),
        });
        const path = await writeResults(RESULTS_DIR, suite, results);
        process.stdout.write(`${formatTable(results)}\n(written to ${path})\n\n`);
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    }
    return 0;
  },
};
