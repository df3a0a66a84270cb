/** Minimal flag parsing shared by the CLI commands (`--name value`, `--flag`, positionals). */
import { ErrorCodes, TrickleError } from '../errors';

export interface ParsedArgs {
  values: Map<string, string[]>;
  flags: Set<string>;
  positionals: string[];
}

/**
 * Parses `args` given which options take a value and which are boolean flags. Unknown options are
 * an ERR_INVALID_ARG naming the command's usage. A lone `-` is a positional (stdin).
 */
export function parseArgs(args: string[], spec: { values: string[]; flags: string[] }, command: string): ParsedArgs {
  const out: ParsedArgs = { values: new Map(), flags: new Set(), positionals: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('--')) {
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (spec.flags.includes(name) && eq < 0) {
      out.flags.add(name);
      continue;
    }
    if (!spec.values.includes(name)) {
      throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Unknown option ${a} for ${command} (see trickle-rt ${command} --help)`);
    }
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Expected a value after --${name}`);
    const list = out.values.get(name) ?? [];
    list.push(value);
    out.values.set(name, list);
  }
  return out;
}

/** The last value of an option, if given. */
export function optionValue(parsed: ParsedArgs, name: string): string | undefined {
  const list = parsed.values.get(name);
  return list ? list[list.length - 1] : undefined;
}

/** `--tls-ca FILE` as a clients' `tls` option (absent: the clients' default). */
export function tlsOption(parsed: ParsedArgs): { tls?: { caFile: string } } {
  const file = optionValue(parsed, 'tls-ca');
  return file === undefined ? {} : { tls: { caFile: file } };
}

/** An integer option within [min, max]. */
export function intOption(parsed: ParsedArgs, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = optionValue(parsed, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Expected an integer ${min}..${max} for --${name} but received ${JSON.stringify(text)}`);
  }
  return n;
}

/** Resolves when SIGINT or SIGTERM arrives (the handlers are removed afterwards). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
