/**
 * Shared steps of the packaging tests: build the prebuilt binary exactly as a release does
 * (`npm run prebuilds`: static FFmpeg + x264 + opus from scripts/build-ffmpeg.sh, cached under
 * .deps/ by a stamp; cmake-js build under build-prebuild/, incremental), and run commands
 * asynchronously so that the vitest worker stays responsive during long builds.
 *
 * TRICKLE_SKIP_PACKAGING=1 skips these tests in a development loop; it is ignored when CI is set,
 * so CI always runs them.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { packageRoot } from '../../src/native/addon';

export const PREBUILD_PATH = join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'trickle-rt.node');

/** The release CUDA architectures (CUDA 13 supports sm_75 and newer; docs/binaries.md): SASS for each, PTX for the newest. */
export const RELEASE_SASS_ARCHS = [75, 80, 86, 89, 90, 100, 120];
export const RELEASE_PTX_ARCHS = [120];

/** Generous: a first run on 2 busy cores builds FFmpeg, x264 and opus (measured up to ~7 min) plus the addon. */
export const PREBUILD_TIMEOUT_MS = 40 * 60_000;

export const skipPackaging = process.env['TRICKLE_SKIP_PACKAGING'] === '1' && !process.env['CI'];

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? packageRoot, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export function describeFailure(what: string, r: RunResult): string {
  const tail = (s: string): string => s.split('\n').slice(-40).join('\n');
  return `${what} exited with ${r.code}\n--- stdout (tail)\n${tail(r.stdout)}\n--- stderr (tail)\n${tail(r.stderr)}`;
}

/** An environment without the variables that would bypass what is being tested. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env['TRICKLE_RT_ADDON'];
  delete env['TRICKLE_RT_SKIP_INSTALL_BUILD'];
  for (const k of Object.keys(env)) {
    if (k.startsWith('npm_')) delete env[k]; // vitest run through `npm test` inherits npm's config
  }
  return env;
}

let prebuildPromise: Promise<{ seconds: number }> | undefined;

/** Runs `npm run prebuilds` (through its script, without npm) once per test process. */
export function ensurePrebuild(): Promise<{ seconds: number }> {
  prebuildPromise ??= (async () => {
    const started = Date.now();
    // niced: on a shared machine the build yields the CPU to tests running beside it
    const r = await run('nice', ['-n', '10', process.execPath, join(packageRoot, 'scripts', 'prebuildify-cmake-js.js')], {
      env: cleanEnv(),
      timeoutMs: PREBUILD_TIMEOUT_MS,
    });
    if (r.code !== 0) throw new Error(describeFailure('npm run prebuilds', r));
    return { seconds: (Date.now() - started) / 1000 };
  })();
  return prebuildPromise;
}
