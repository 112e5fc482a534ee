/**
 * Every command group answers `--help` with its subcommands, tried as a new
 * user would: `recstream experiments --help` and the rest, as a process.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../test/cli.js';
import { groupOf } from './command-groups.js';
import { COMMANDS } from './commands/index.js';

const GROUPS = ['experiments', 'models', 'dlq', 'online', 'state', 'registry'];

test('each group is the first word of its two-word commands, and a one-word command is none', () => {
  assert.deepEqual(
    groupOf(COMMANDS, 'models')?.map((c) => c.name),
    ['models list', 'models promote', 'models rollback'],
  );
  assert.equal(groupOf(COMMANDS, 'process'), undefined);
  assert.equal(groupOf(COMMANDS, 'model'), undefined);
  const twoWord = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]));
  assert.deepEqual([...twoWord].sort(), [...GROUPS].sort());
});

test('recstream <group> --help lists every subcommand with its summary, exit 0', async () => {
  for (const group of GROUPS) {
    const result = await runCli([group, '--help']);
    assert.equal(result.code, 0, `${group} --help: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^usage: recstream ${group} <subcommand>`));
    for (const command of groupOf(COMMANDS, group)!) {
      const sub = command.name.slice(group.length + 1);
      assert.match(result.stdout, new RegExp(`\\n  ${sub} +${literal(command.summary)}`), `${group}: ${sub}`);
    }
  }
});

test('a group alone or with an unknown subcommand says so, lists the subcommands, exit 2', async () => {
  const alone = await runCli(['experiments']);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /^recstream experiments: which subcommand\?\n\nusage: recstream experiments/);
  const wrong = await runCli(['models', 'delete']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^recstream models: unknown subcommand "delete"\n/);
  assert.match(wrong.stderr, /\n {2}promote +/);
  const none = await runCli(['frobnicate']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^recstream: unknown command "frobnicate"/);
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
