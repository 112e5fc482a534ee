/**
 * Command groups: the first word of the two-word commands (`experiments`
 * of `experiments start`, `models` of `models promote`), so that
 * `recstream experiments --help` lists what the group does instead of
 * answering "unknown command", as `git remote` or `kubectl config` do.
 *
 * @example
 * ```ts
 * groupOf(COMMANDS, 'models')?.map((c) => c.name); // ['models list', 'models promote', 'models rollback']
 * groupUsage('models', groupOf(COMMANDS, 'models')!);
 * ```
 */
import type { Command } from './command.js';

/** The commands of group `word`, in listing order; undefined when `word` names no group. */
export function groupOf(commands: readonly Command[], word: string): Command[] | undefined {
  const members = commands.filter((c) => c.name.startsWith(`${word} `));
  return members.length > 0 ? members : undefined;
}

/** What `recstream <group> --help` prints: the group's subcommands with their summaries. */
export function groupUsage(word: string, members: readonly Command[]): string {
  const names = members.map((c) => c.name.slice(word.length + 1));
  const width = Math.max(...names.map((n) => n.length));
  return [
    `usage: recstream ${word} <subcommand> [options]`,
    '',
    'subcommands:',
    ...members.map((c, i) => `  ${names[i]!.padEnd(width)}  ${c.summary}`),
    '',
    `recstream ${word} <subcommand> --help says more of each.`,
  ].join('\n');
}
