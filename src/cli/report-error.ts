/**
 * How the `trickle-rt` binary reports a failure: one line, `trickle-rt <command>: <problem>; <fix>`,
 * and an exit code (2 for a usage mistake, 1 otherwise). The stack trace (and the chain of causes)
 * follows only in debug mode (`--debug` or `TRICKLE_LOG_LEVEL=debug`).
 */
import { TrickleError } from '../errors';
import { CliUsageError } from './args';

export interface ReportedError {
  /** One line without the `trickle-rt <command>: ` prefix and without a newline. */
  line: string;
  exitCode: number;
}

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
  hostname?: string;
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
}

function systemError(err: SystemError): string | undefined {
  const where = err.port !== undefined ? `${err.address ?? ''}${err.address ? ':' : 'port '}${err.port}` : undefined;
  switch (err.code) {
    case 'EADDRINUSE':
      return `${where ?? 'the address'} is already in use; choose another port with --port (0 picks a free one) or stop the process using it`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where ?? 'that address'}: the address is not on this machine; use --host 0.0.0.0 or an address of this machine`;
    case 'ECONNREFUSED':
      return `cannot connect to ${where ?? 'the server'}: connection refused; check that the server is running and the URL's host and port`;
    case 'ENOTFOUND':
      return `cannot resolve host ${JSON.stringify(err.hostname ?? '')}; check the URL`;
    case 'ECONNRESET':
      return `the connection to ${where ?? 'the server'} was reset; check the URL and that the server is healthy`;
    case 'ENOENT':
      return err.path !== undefined ? `${err.path}: no such file or directory; check the path` : undefined;
    case 'EISDIR':
      return err.path !== undefined ? `${err.path} is a directory; give a file` : undefined;
    case 'EACCES':
    case 'EPERM':
      if (err.syscall === 'listen' || err.syscall === 'bind') {
        return `no permission to listen on ${where ?? 'that port'}; use a port ≥ 1024 or run with the needed privileges`;
      }
      return err.path !== undefined ? `${err.path}: permission denied; check the file's permissions` : undefined;
    default:
      return undefined;
  }
}

/** The line and exit code for `err`. */
export function describeCliError(err: unknown): ReportedError {
  if (err instanceof CliUsageError) return { line: `${err.message}; ${err.fix}`, exitCode: 2 };
  if (err instanceof TrickleError) {
    if (err.code === 'ERR_NATIVE_LOAD') {
      const attempts = (err as TrickleError & { attempts?: Array<{ remedy: string }> }).attempts ?? [];
      const remedy = attempts.find((a) => !/does not exist|not built from source|no source build here/.test(a.remedy))?.remedy ?? attempts[0]?.remedy;
      return {
        line: `the native addon does not load here${remedy ? `: ${remedy}` : ''}; "trickle-rt info" shows every attempt`,
        exitCode: 1,
      };
    }
    const more = err.message.includes('\n') ? ' (run with --debug for the details)' : '';
    return { line: `${err.code}: ${firstLine(err.message)}${more}`, exitCode: 1 };
  }
  if (err instanceof Error) {
    const sys = systemError(err as SystemError);
    if (sys) return { line: sys, exitCode: 1 };
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const inner = systemError(cause as SystemError);
      if (inner) return { line: inner, exitCode: 1 };
    }
    const code = (err as SystemError).code;
    return {
      line: `${code ? `${code}: ` : ''}${firstLine(err.message)}; run again with --debug for the stack trace`,
      exitCode: 1,
    };
  }
  return { line: `${String(err)}; run again with --debug for the details`, exitCode: 1 };
}

/** Whether stack traces are wanted: `--debug` (which sets TRICKLE_LOG_LEVEL) or TRICKLE_LOG_LEVEL=debug. */
export function debugMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['TRICKLE_LOG_LEVEL'] === 'debug';
}

/** The stack and every cause, for debug mode. */
export function debugDetails(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    if (current instanceof Error) {
      parts.push(`${depth === 0 ? '' : 'caused by: '}${current.stack ?? String(current)}`);
      current = (current as { cause?: unknown }).cause;
    } else {
      parts.push(`${depth === 0 ? '' : 'caused by: '}${String(current)}`);
      break;
    }
  }
  return parts.join('\n');
}
