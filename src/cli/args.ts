/**
 * The one command-line parser of the `trickle-rt` binary. A command declares its options and
 * positionals once (kind, default, range, environment variable, help line); from that declaration
 * come the parsing, the validation with one message shape, the typed values handed to the
 * command, and its `--help` text. Mistakes throw {@link CliUsageError}, which the binary prints as
 * one line (problem, then fix) and exits with code 2.
 *
 * @example
 * export const pingCommand = defineCommand({
 *   name: 'ping',
 *   summary: 'ping a trickle channel',
 *   description: 'Sends one empty segment.',
 *   options: {
 *     url: { kind: 'string', valueName: 'URL', required: true, help: 'the channel URL' },
 *     count: { kind: 'integer', valueName: 'N', default: 1, min: 1, help: 'how many' },
 *   },
 *   async run({ options }) {
 *     // options.url: string, options.count: number
 *     return 0;
 *   },
 * });
 */
import { ErrorCodes, TrickleError } from '../errors';
import type { CliCommand } from './command';

export type OptionKind = 'string' | 'integer' | 'number' | 'boolean';

/** One `--name` option of a command. */
export interface OptionSpec {
  kind: OptionKind;
  /** The help line (one sentence; the default and the environment variable are appended). */
  help: string;
  /** A one-letter alias: `-p`. */
  short?: string;
  /** The placeholder in the help text (`--port N`); default by kind. */
  valueName?: string;
  /** May be given several times; the values arrive as an array (in order). */
  multiple?: boolean;
  /** The value when the option is absent (and its environment variable too). */
  default?: string | number | boolean;
  /** Must be given (on the command line or through `env`). */
  required?: boolean;
  /** Inclusive bounds of an integer or number. */
  min?: number;
  max?: number;
  /** The accepted values of a string option. */
  choices?: readonly string[];
  /** An environment variable read when the option is absent from the command line. */
  env?: string;
}

/** One positional argument of a command. */
export interface PositionalSpec {
  name: string;
  help: string;
  required?: boolean;
  /** Takes every remaining positional (last positional only). */
  multiple?: boolean;
}

type Scalar<S extends OptionSpec> = S['kind'] extends 'boolean' ? boolean : S['kind'] extends 'string' ? string : number;

/** The typed values of a command's options, as its `run` receives them. */
export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K] extends { multiple: true }
    ? Array<Scalar<O[K]>>
    : O[K] extends { kind: 'boolean' }
      ? boolean
      : O[K] extends { default: string | number | boolean } | { required: true }
        ? Scalar<O[K]>
        : Scalar<O[K]> | undefined;
};

export interface ParsedCommandLine<O extends Record<string, OptionSpec>> {
  options: OptionValues<O>;
  positionals: string[];
  /** The words as given (after the command name). */
  argv: readonly string[];
}

export interface CommandDefinition<O extends Record<string, OptionSpec>> {
  name: string;
  /** One line for `trickle-rt help`. */
  summary: string;
  /** The paragraph(s) between the synopsis and the option list of `--help`. */
  description: string;
  options: O;
  positionals?: readonly PositionalSpec[];
  /** Example command lines shown at the end of `--help`. */
  examples?: readonly string[];
  run(parsed: ParsedCommandLine<O>): Promise<number>;
}

/**
 * A mistake on the command line (or in the environment that stands in for it): the binary prints
 * `trickle-rt <command>: <problem>; <fix>` and exits with code 2.
 */
export class CliUsageError extends TrickleError {
  /** What to do about it, e.g. `run "trickle-rt serve --help" for the options`. */
  readonly fix: string;
  constructor(problem: string, fix: string) {
    super(ErrorCodes.ERR_INVALID_ARG, problem);
    this.name = 'CliUsageError';
    this.fix = fix;
  }
}

/** The edit distance of two short strings (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}

function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestScore) {
      best = c;
      bestScore = d;
    }
  }
  return bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function describeKind(spec: OptionSpec): string {
  const range = (what: string): string => {
    if (spec.min !== undefined && spec.max !== undefined) return `${what} from ${spec.min} to ${spec.max}`;
    if (spec.min !== undefined) return `${what} ≥ ${spec.min}`;
    if (spec.max !== undefined) return `${what} ≤ ${spec.max}`;
    return what;
  };
  if (spec.kind === 'integer') return range('an integer');
  if (spec.kind === 'number') return range('a number');
  if (spec.choices) return `one of ${spec.choices.join(', ')}`;
  return 'a value';
}

function convert(spec: OptionSpec, text: string, source: string): string | number {
  const example = String(spec.default ?? spec.min ?? 1);
  const fix = `e.g. ${source.startsWith('--') ? `${source} ${example}` : `${source}=${example}`}`;
  if (spec.kind === 'string') {
    if (spec.choices && !spec.choices.includes(text)) {
      const choice = spec.choices[0]!;
      throw new CliUsageError(`${source} must be one of ${spec.choices.join(', ')}, not ${JSON.stringify(text)}`, `e.g. ${source.startsWith('--') ? `${source} ${choice}` : `${source}=${choice}`}`);
    }
    return text;
  }
  const n = Number(text);
  const wellFormed = spec.kind === 'integer' ? /^[-+]?\d+$/.test(text.trim()) && Number.isSafeInteger(n) : text.trim() !== '' && Number.isFinite(n);
  if (!wellFormed || (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
    throw new CliUsageError(`${source} must be ${describeKind(spec)}, not ${JSON.stringify(text)}`, fix);
  }
  return n;
}

function helpFor(command: string): string {
  return `run "trickle-rt ${command} --help" for the options`;
}

/**
 * Parses `args` (the words after the command name) against a command's declaration. Accepts
 * `--name value`, `--name=value`, `-x value`, boolean `--flag` / `--no-flag`, `--` (the rest are
 * positionals) and a lone `-` as a positional (stdin). Throws {@link CliUsageError}.
 */
export function parseCommandLine<O extends Record<string, OptionSpec>>(
  command: string,
  options: O,
  positionals: readonly PositionalSpec[],
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedCommandLine<O> {
  const given = new Map<string, Array<string | number | boolean>>();
  const rest: string[] = [];
  const names = Object.keys(options);
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(options)) if (spec.short) byShort.set(spec.short, name);

  const add = (name: string, value: string | number | boolean): void => {
    const list = given.get(name) ?? [];
    list.push(value);
    given.set(name, list);
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      rest.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    } else {
      const short = arg.slice(1, 2);
      const long = byShort.get(short);
      if (long === undefined) {
        throw new CliUsageError(`unknown option ${arg}`, helpFor(command));
      }
      name = long;
      inline = arg.length > 2 ? arg.slice(arg[2] === '=' ? 3 : 2) : undefined;
    }
    let spec = options[name];
    if (!spec && name.startsWith('no-') && options[name.slice(3)]?.kind === 'boolean' && inline === undefined) {
      add(name.slice(3), false);
      continue;
    }
    if (!spec) {
      const guess = closest(name, names);
      throw new CliUsageError(
        `unknown option --${name}${guess ? ` (did you mean --${guess}?)` : ''}`,
        helpFor(command),
      );
    }
    spec = spec as OptionSpec;
    if (spec.kind === 'boolean') {
      if (inline === undefined) add(name, true);
      else if (/^(true|1|yes)$/i.test(inline)) add(name, true);
      else if (/^(false|0|no)$/i.test(inline)) add(name, false);
      else throw new CliUsageError(`--${name} is a switch and takes no value, not ${JSON.stringify(inline)}`, `write --${name} alone (or --no-${name})`);
      continue;
    }
    let text = inline;
    if (text === undefined) {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new CliUsageError(`--${name} needs a value`, `write --${name} ${spec.valueName ?? placeholder(spec)}`);
      }
      text = next;
      i++;
    }
    add(name, convert(spec, text, `--${name}`));
  }

  const values: Record<string, unknown> = {};
  for (const [name, specAny] of Object.entries(options)) {
    const spec = specAny as OptionSpec;
    let list = given.get(name);
    if (!list && spec.env !== undefined) {
      const text = env[spec.env];
      if (text !== undefined && text !== '') {
        if (spec.kind === 'boolean') {
          if (/^(true|1|yes)$/i.test(text)) list = [true];
          else if (/^(false|0|no)$/i.test(text)) list = [false];
          else throw new CliUsageError(`${spec.env} must be true or false, not ${JSON.stringify(text)}`, `set ${spec.env}=1 or unset it`);
        } else {
          list = spec.multiple
            ? text.split(',').map((part) => convert(spec, part.trim(), spec.env as string))
            : [convert(spec, text, spec.env)];
        }
      }
    }
    if (!list && spec.required) {
      throw new CliUsageError(
        `--${name} is required`,
        `add --${name} ${spec.valueName ?? placeholder(spec)}${spec.env ? ` (or set ${spec.env})` : ''}; ${helpFor(command)}`,
      );
    }
    if (spec.multiple) values[name] = list ?? (spec.default !== undefined ? [spec.default] : []);
    else if (list) values[name] = list[list.length - 1];
    else values[name] = spec.default ?? (spec.kind === 'boolean' ? false : undefined);
  }

  const required = positionals.filter((p) => p.required).length;
  const variadic = positionals.some((p) => p.multiple);
  if (rest.length < required) {
    const missing = positionals[rest.length]!;
    throw new CliUsageError(`missing ${missing.name} (${missing.help})`, `usage: ${synopsis(command, options, positionals)}`);
  }
  if (!variadic && rest.length > positionals.length) {
    const extra = rest[positionals.length]!;
    throw new CliUsageError(
      positionals.length === 0 ? `unexpected argument ${JSON.stringify(extra)}` : `too many arguments: ${JSON.stringify(extra)}`,
      `usage: ${synopsis(command, options, positionals)}`,
    );
  }
  return { options: values as OptionValues<O>, positionals: rest, argv: args };
}

function placeholder(spec: OptionSpec): string {
  if (spec.valueName) return spec.valueName;
  if (spec.kind === 'integer' || spec.kind === 'number') return 'N';
  if (spec.choices) return spec.choices.join('|');
  return 'VALUE';
}

/** `trickle-rt name --required X [options] POSITIONAL…` */
export function synopsis(command: string, options: Record<string, OptionSpec>, positionals: readonly PositionalSpec[]): string {
  const parts = [`trickle-rt ${command}`];
  for (const [name, spec] of Object.entries(options)) {
    if (spec.required) parts.push(`--${name} ${placeholder(spec)}`);
  }
  if (Object.values(options).some((s) => !s.required)) parts.push('[options]');
  for (const p of positionals) parts.push(p.required ? p.name : `[${p.name}]${p.multiple ? '…' : ''}`);
  return parts.join(' ');
}

/** The `--help` text of a command, generated from its declaration. */
export function commandHelp(def: CommandDefinition<Record<string, OptionSpec>>): string {
  const lines: string[] = [`Usage: ${synopsis(def.name, def.options, def.positionals ?? [])}`, '', def.description.trim(), ''];
  const rows: Array<[string, string]> = [];
  for (const p of def.positionals ?? []) rows.push([p.name, p.help]);
  for (const [name, spec] of Object.entries(def.options)) {
    const left = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.kind === 'boolean' ? '' : ` ${placeholder(spec)}`}`;
    const notes: string[] = [];
    if (spec.default !== undefined && spec.kind !== 'boolean') notes.push(`default ${String(spec.default)}`);
    if (spec.env) notes.push(`env ${spec.env}`);
    if (spec.multiple) notes.push('repeatable');
    rows.push([left, `${spec.help}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`]);
  }
  rows.push(['--debug', 'print stack traces and debug logs on errors (also TRICKLE_LOG_LEVEL=debug)']);
  rows.push(['-h, --help', 'show this help']);
  const width = Math.min(28, Math.max(...rows.map(([l]) => l.length)));
  lines.push('Options:');
  for (const [left, right] of rows) {
    lines.push(left.length > width ? `  ${left}\n  ${' '.repeat(width)}  ${right}` : `  ${left.padEnd(width)}  ${right}`);
  }
  if (def.examples && def.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const e of def.examples) lines.push(`  ${e}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Turns a declaration into a {@link CliCommand} whose `run` parses, validates, then runs. */
export function defineCommand<const O extends Record<string, OptionSpec>>(def: CommandDefinition<O>): CliCommand {
  return {
    name: def.name,
    summary: def.summary,
    usage: commandHelp(def as unknown as CommandDefinition<Record<string, OptionSpec>>),
    async run(args) {
      const parsed = parseCommandLine(def.name, def.options, def.positionals ?? [], args);
      return def.run(parsed);
    },
  };
}

/** The `--tls-ca FILE` option of the commands that reach trickle channels or an orchestrator. */
export const TLS_CA_OPTION = {
  kind: 'string',
  valueName: 'FILE',
  help: "verify https peers against this PEM file (a CA or the orchestrator's own certificate); default: env TRICKLE_TLS_CA, else no verification, as go-livepeer's self-signed certificate needs",
} as const satisfies OptionSpec;

/** `--tls-ca FILE` as a clients' `tls` option (absent: the clients' default). */
export function tlsOption(file: string | undefined): { tls?: { caFile: string } } {
  return file === undefined ? {} : { tls: { caFile: file } };
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
