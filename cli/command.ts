/**
 * The shape of a `recstream` sub-command: a name, a one-line summary for
 * `--help`, its options (node:util parseArgs), and a run function that gets
 * the parsed arguments and the validated config.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../runtime/config.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandArgs {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly config: Config;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: OptionSpec;
  /** Returns the process exit code. */
  run(args: CommandArgs): Promise<number>;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: OptionSpec = {
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
