/**
 * `recstream eval` runs one of three evaluations (offline, `--online`,
 * `--off-policy`); an option of another one is refused before anything is
 * opened, with a message naming it and where it belongs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../test/cli.js';

test('an option of another evaluation is refused, naming it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-eval-modes-'));
  try {
    const cases: [string[], RegExp][] = [
      [
        ['--online', '--candidate', 'recstream@1'],
        /--candidate is an option of --off-policy, not of --online/,
      ],
      [
        ['--off-policy', '--candidate', 'recstream@1', '--truth', 't.jsonl'],
        /--truth is an option of --online, not of --off-policy/,
      ],
      [
        ['--off-policy', '--candidate', 'recstream@1', '--k', '5'],
        /--k is an option of the offline evaluation/,
      ],
      [
        ['--candidate', 'recstream@1'],
        /--candidate is an option of --off-policy, not of the offline evaluation/,
      ],
      [['--online', '--off-policy'], /give one/],
      [['--off-policy'], /--off-policy needs --candidate/],
      [['--off-policy', '--candidate', 'recstream'], /expected <model>@<version>/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['eval', ...args, '--data-dir', dataDir]);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`${message.source}.*\\[CONFIG_INVALID\\]`), args.join(' '));
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
