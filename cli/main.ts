#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * `recstream`: one entry point for every role and tool.
 * Errors that recstream raises on purpose print their message and code and
 * exit 1; anything else is a bug and prints its stack.
 *
 * The young generation is larger than Node's default (16 MB semi-spaces):
 * a stream processor keeps each commit interval's decoded values and
 * buffered outputs alive for ~100 ms, and with small semi-spaces every
 * scavenge copies them again; 32 MB halved the time spent in scavenges in
 * the topology benchmark and 64 MB took another 6 % off its run time, for
 * up to ~150 MB more resident memory (docs/decisions.md §16).
 */
import { parseArgs } from 'node:util';
import { describeConfig, loadConfig } from '../runtime/config.js';
import { RecstreamError } from '../runtime/errors.js';
import { useLogHashKey } from '../runtime/observability/user-hash.js';
import { COMMON_OPTIONS, type Command } from './command.js';
import { groupOf, groupUsage } from './command-groups.js';
import { COMMANDS } from './commands/index.js';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: recstream <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'every command takes --data-dir DIR (overrides RECSTREAM_DATA_DIR) and --help.',
    '',
    'environment:',
    describeConfig(),
  ].join('\n');
}

function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  // Two-word commands (`state digest`, `dlq list`) win over one-word ones.
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = groupOf(COMMANDS, argv[0]!);
    if (group === undefined) {
      process.stderr.write(`recstream: unknown command ${JSON.stringify(argv.join(' '))}\n\n${usage()}\n`);
      return 2;
    }
    const asked = argv[1];
    if (asked === '--help' || asked === '-h' || asked === 'help') {
      process.stdout.write(`${groupUsage(argv[0]!, group)}\n`);
      return 0;
    }
    const what = asked === undefined ? 'which subcommand?' : `unknown subcommand ${JSON.stringify(asked)}`;
    process.stderr.write(`recstream ${argv[0]}: ${what}\n\n${groupUsage(argv[0]!, group)}\n`);
    return 2;
  }
  const { command, rest } = found;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`recstream ${command.name}: ${(error as Error).message}\nusage: ${command.usage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`usage: ${command.usage}\n\n${command.summary}\n`);
    return 0;
  }
  const dataDir = parsed.values['data-dir'];
  const config = loadConfig(process.env, typeof dataDir === 'string' ? { dataDir } : {});
  // Commands that log without opening a platform (the Redis namespace commands) hash with it too.
  useLogHashKey(config.logHashKey);
  return command.run({
    positionals: parsed.positionals,
    values: parsed.values as CommandArgs['values'],
    config,
  });
}

type CommandArgs = Parameters<Command['run']>[0];

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof RecstreamError) {
      process.stderr.write(`recstream: ${error.message} [${error.code}]\n`);
    } else {
      process.stderr.write(`recstream: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
