/** A CLI subcommand: `trickle-rt <name> [args]`. One file per command under src/cli/commands/. */
export interface CliCommand {
  name: string;
  /** One line for `trickle-rt help`. */
  summary: string;
  /** Usage text for `trickle-rt <name> --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}
