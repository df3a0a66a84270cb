import { packageVersion } from '../native/capabilities';
import { CliUsageError } from './args';
import { commands } from './commands/index';
import { debugDetails, debugMode, describeCliError } from './report-error';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  let version: string;
  try {
    version = packageVersion();
  } catch {
    version = '';
  }
  return `trickle-rt ${version} — real-time AI video over Livepeer's trickle protocol\n\nUsage: trickle-rt <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`trickle-rt <command> --help\` for a command's options; --debug (or TRICKLE_LOG_LEVEL=debug) adds stack traces to errors.\n`;
}

/** Writes the one-line report of `err` (plus the stack in debug mode) and returns the exit code. */
function report(prefix: string, err: unknown): number {
  const { line, exitCode } = describeCliError(err);
  process.stderr.write(`${prefix}: ${line}\n`);
  if (debugMode()) process.stderr.write(`${debugDetails(err)}\n`);
  return exitCode;
}

let crashHandlersInstalled = false;

/** An error nobody awaited (an 'error' event without a listener, a rejected promise) ends the process with one line. */
function installCrashHandlers(prefix: string): void {
  if (crashHandlersInstalled) return;
  crashHandlersInstalled = true;
  // Only when nobody else handles it: `serve` installs a process guard that reports an escaped
  // error against its stream and keeps the worker serving.
  const onCrash =
    (event: 'uncaughtException' | 'unhandledRejection') =>
    (err: unknown): void => {
      if (process.listenerCount(event) > 1) return;
      process.exitCode = report(prefix, err);
      process.exit();
    };
  process.on('uncaughtException', onCrash('uncaughtException'));
  process.on('unhandledRejection', onCrash('unhandledRejection'));
}

/**
 * Entry point of the `trickle-rt` binary. Resolves to the exit code: 0 success, 1 failure, 2 a
 * usage mistake. Every failure is one line on stderr naming the problem and the fix.
 */
export async function main(argv: string[]): Promise<number> {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  const words = head.filter((a) => a !== '--debug').concat(end < 0 ? [] : argv.slice(end));
  if (words.length !== argv.length) process.env['TRICKLE_LOG_LEVEL'] = 'debug';
  const [name, ...rest] = words;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write(topic ? topic.usage : help());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command && name === 'bench') {
    return report(
      'trickle-rt',
      new CliUsageError('the benchmark suite is not part of the installed package', 'in a checkout of the repository run `npm run bench -- [B1 …] [options]` (see bench/README.md)'),
    );
  }
  if (!command) {
    const problem = name.startsWith('-') ? `unknown option ${name} before the command` : `unknown command "${name}"`;
    return report('trickle-rt', new CliUsageError(problem, `the commands are ${commands.map((c) => c.name).join(', ')}; run "trickle-rt --help"`));
  }
  const helpAt = rest.findIndex((a) => a === '--help' || a === '-h');
  const restEnd = rest.indexOf('--');
  if (helpAt >= 0 && (restEnd < 0 || helpAt < restEnd)) {
    process.stdout.write(command.usage);
    return 0;
  }
  const prefix = `trickle-rt ${name}`;
  installCrashHandlers(prefix);
  try {
    return await command.run(rest);
  } catch (err) {
    return report(prefix, err);
  }
}
