/**
 * A CLI subcommand: `trickle-rt <name> [args]`. One file per command under src/cli/commands/, each
 * made with `defineCommand` (src/cli/args.ts) so that parsing, errors and `--help` are the same
 * everywhere.
 */
export interface CliCommand {
  name: string;
  /** One line for `trickle-rt help`. */
  summary: string;
  /** The full `--help` text (starts with "Usage: "). */
  usage: string;
  /** Parses `args` and runs the command; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}
