import { describe, expect, it } from 'vitest';

import { CliUsageError, commandHelp, defineCommand, parseCommandLine, type OptionSpec } from '../../src/cli/args';
import { describeCliError } from '../../src/cli/report-error';
import { TrickleError } from '../../src/errors';

const options = {
  port: { kind: 'integer', min: 0, max: 65535, default: 8000, help: 'port' },
  url: { kind: 'string', required: true, valueName: 'URL', help: 'url', env: 'TEST_URL' },
  mode: { kind: 'string', choices: ['fast', 'slow'], help: 'mode' },
  verbose: { kind: 'boolean', short: 'v', help: 'verbose' },
  channel: { kind: 'string', multiple: true, help: 'channel' },
  ratio: { kind: 'number', min: 0, help: 'ratio' },
} satisfies Record<string, OptionSpec>;

function usageError(fn: () => unknown): CliUsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliUsageError);
    return err as CliUsageError;
  }
  throw new Error('expected a CliUsageError');
}

describe('CLI parser', () => {
  it('parses every form into typed values with defaults', () => {
    const p = parseCommandLine('x', options, [{ name: 'FILE', help: 'f' }], ['--url=http://a', '-v', '--channel', 'a', '--channel=b', '--ratio', '0.5', 'file.ts'], {});
    expect(p.options).toEqual({ port: 8000, url: 'http://a', mode: undefined, verbose: true, channel: ['a', 'b'], ratio: 0.5 });
    expect(p.positionals).toEqual(['file.ts']);
  });

  it('reads an absent option from its environment variable, the command line wins', () => {
    expect(parseCommandLine('x', options, [], [], { TEST_URL: 'http://env' }).options.url).toBe('http://env');
    expect(parseCommandLine('x', options, [], ['--url', 'http://cli'], { TEST_URL: 'http://env' }).options.url).toBe('http://cli');
  });

  it('names the problem and the fix for each kind of mistake', () => {
    const unknown = usageError(() => parseCommandLine('serve', options, [], ['--url', 'u', '--prot', '1'], {}));
    expect(unknown.message).toBe('unknown option --prot (did you mean --port?)');
    expect(unknown.fix).toBe('run "trickle-rt serve --help" for the options');
    const range = usageError(() => parseCommandLine('serve', options, [], ['--url', 'u', '--port', '70000'], {}));
    expect(range.message).toBe('--port must be an integer from 0 to 65535, not "70000"');
    const notInt = usageError(() => parseCommandLine('serve', options, [], ['--url', 'u', '--port', '80.5'], {}));
    expect(notInt.message).toContain('must be an integer');
    const missing = usageError(() => parseCommandLine('serve', options, [], [], {}));
    expect(missing.message).toBe('--url is required');
    expect(missing.fix).toContain('add --url URL (or set TEST_URL)');
    const noValue = usageError(() => parseCommandLine('serve', options, [], ['--url'], {}));
    expect(noValue.message).toBe('--url needs a value');
    const choice = usageError(() => parseCommandLine('serve', options, [], ['--url', 'u', '--mode', 'medium'], {}));
    expect(choice.message).toBe('--mode must be one of fast, slow, not "medium"');
    const extra = usageError(() => parseCommandLine('serve', options, [], ['--url', 'u', 'stray'], {}));
    expect(extra.message).toBe('unexpected argument "stray"');
    const badEnv = usageError(() => parseCommandLine('serve', { n: { kind: 'integer', env: 'N', help: 'n' } }, [], [], { N: 'many' }));
    expect(badEnv.message).toBe('N must be an integer, not "many"');
  });

  it('requires positionals, accepts - and everything after --', () => {
    const spec = [{ name: 'FILE', help: 'the input', required: true }];
    expect(usageError(() => parseCommandLine('publish', options, spec, ['--url', 'u'], {})).message).toBe('missing FILE (the input)');
    expect(parseCommandLine('publish', options, spec, ['--url', 'u', '-'], {}).positionals).toEqual(['-']);
    expect(parseCommandLine('publish', options, spec, ['--url', 'u', '--', '--odd-name'], {}).positionals).toEqual(['--odd-name']);
  });

  it('turns --no-flag into false and rejects a value on a switch', () => {
    const spec = { progress: { kind: 'boolean', default: true, help: 'p' } } satisfies Record<string, OptionSpec>;
    expect(parseCommandLine('x', spec, [], [], {}).options.progress).toBe(true);
    expect(parseCommandLine('x', spec, [], ['--no-progress'], {}).options.progress).toBe(false);
    expect(usageError(() => parseCommandLine('x', spec, [], ['--progress=maybe'], {})).message).toContain('is a switch');
  });

  it('generates the help from the declaration', () => {
    const cmd = defineCommand({ name: 'demo-x', summary: 's', description: 'Does x.', options, positionals: [{ name: 'FILE', help: 'input' }], async run() { return 0; } });
    expect(cmd.usage).toMatch(/^Usage: trickle-rt demo-x --url URL \[options\] \[FILE\]/);
    expect(cmd.usage).toContain('--port N');
    expect(cmd.usage).toContain('(default 8000)');
    expect(cmd.usage).toContain('(env TEST_URL)');
    expect(commandHelp({ name: 'y', summary: '', description: 'd', options: {}, async run() { return 0; } })).toContain('--debug');
  });
});

describe('CLI error lines', () => {
  it('usage mistakes exit 2, others 1, each one line', () => {
    expect(describeCliError(new CliUsageError('unknown option --x', 'run "trickle-rt serve --help" for the options'))).toEqual({
      line: 'unknown option --x; run "trickle-rt serve --help" for the options',
      exitCode: 2,
    });
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 0.0.0.0:8000'), { code: 'EADDRINUSE', syscall: 'listen', address: '0.0.0.0', port: 8000 });
    expect(describeCliError(inUse)).toEqual({
      line: '0.0.0.0:8000 is already in use; choose another port with --port (0 picks a free one) or stop the process using it',
      exitCode: 1,
    });
    const missing = Object.assign(new Error("ENOENT: no such file or directory, open 'clip.ts'"), { code: 'ENOENT', path: 'clip.ts' });
    expect(describeCliError(missing).line).toBe('clip.ts: no such file or directory; check the path');
    const multi = new TrickleError('ERR_DEMUX', 'first line\nsecond line');
    expect(describeCliError(multi).line).toBe('ERR_DEMUX: first line (run with --debug for the details)');
    const load = Object.assign(new TrickleError('ERR_NATIVE_LOAD', 'could not load\n 1. ...'), {
      attempts: [
        { path: '/x/build/Release/trickle_rt.node', error: 'ENOENT', remedy: 'not built from source: run npm run build:native' },
        { path: '/x/prebuilds/linux-x64/trickle-rt.node', error: 'GLIBC_2.35 not found', remedy: 'the C library is too old' },
      ],
    });
    expect(describeCliError(load).line).toBe('the native addon does not load here: the C library is too old; "trickle-rt info" shows every attempt');
    expect(describeCliError(new Error('boom\nat x')).line).toBe('boom; run again with --debug for the stack trace');
  });
});
