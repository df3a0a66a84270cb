import { TrickleError } from '../errors';
import { packageVersion } from '../native/capabilities';
import { commands } from './commands/index';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `trickle-rt ${packageVersion()} — real-time AI video over Livepeer's trickle protocol\n\nUsage: trickle-rt <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`trickle-rt <command> --help\` for a command's options.\n`;
}

/** Entry point of the `trickle-rt` binary. Resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command && name === 'bench') {
    process.stderr.write(
      'trickle-rt: the benchmark suite is not part of the installed package; in a checkout of the repository run `npm run bench -- [B1 …] [options]` (see bench/README.md)\n',
    );
    return 2;
  }
  if (!command) {
    process.stderr.write(`trickle-rt: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`Usage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof TrickleError) {
      process.stderr.write(`trickle-rt ${name}: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
