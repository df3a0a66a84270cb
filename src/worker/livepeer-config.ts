/**
 * How a worker puts itself on the Livepeer network, from its options and the environment:
 * not at all, as a BYOC capability of an orchestrator, or as a go-livepeer live runner.
 *
 * `LIVEPEER_REGISTRATION` = `byoc` | `live-runner` | `none` chooses; without it, options win
 * (`liveRunner` → live runner, `byoc` → BYOC), then an orchestrator URL and secret in the
 * environment mean BYOC (pytrickle's behaviour). Options override environment values field by field.
 */
import { invalidArg } from '../errors';
import { byocSettingsFromEnv, DEFAULT_CAPABILITY_NAME } from './registration';
import type { LiveRunnerGpu, LiveRunnerPrice } from './live-runner';

/** BYOC settings given as StreamServer options (each overrides its environment variable). */
export interface ByocSettings {
  orchUrl?: string;
  orchSecret?: string;
  /** Where the orchestrator reaches this worker (default `http://localhost:<port>`). */
  url?: string;
  description?: string;
  pricePerUnit?: number;
  priceScaling?: number;
  currency?: string;
  /** How often the orchestrator is checked for a restart (default 5000 ms). */
  watchIntervalMs?: number;
}

/** Live-runner settings given as StreamServer options (each overrides its environment variable). */
export interface LiveRunnerSettings {
  orchUrl?: string;
  orchSecret?: string;
  /** Where the orchestrator proxies sessions to (default `http://localhost:<port>`). */
  runnerUrl?: string;
  /** Default `live-video-to-video/<capability name>`. */
  app?: string;
  version?: string;
  metadata?: string;
  gpu?: LiveRunnerGpu;
  priceInfo?: LiveRunnerPrice;
}

export type RegistrationPlan =
  | { mode: 'none' }
  | { mode: 'byoc'; byoc: Required<Pick<ByocSettings, 'orchUrl' | 'orchSecret'>> & ByocSettings; name: string; envCapacity: number | undefined }
  | { mode: 'live-runner'; runner: Required<Pick<LiveRunnerSettings, 'orchUrl' | 'orchSecret' | 'app'>> & LiveRunnerSettings; envCapacity: number | undefined };

function env1(env: NodeJS.ProcessEnv, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = env[k];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function envCapacity(env: NodeJS.ProcessEnv): number | undefined {
  const text = env1(env, 'LIVEPEER_CAPACITY', 'CAPABILITY_CAPACITY');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw invalidArg('LIVEPEER_CAPACITY / CAPABILITY_CAPACITY', 'a positive integer', text);
  return n;
}

function liveRunnerFromEnv(env: NodeJS.ProcessEnv): LiveRunnerSettings {
  const out: LiveRunnerSettings = defined({
    orchUrl: env1(env, 'LIVEPEER_ORCH_URL', 'ORCH_URL'),
    orchSecret: env1(env, 'LIVEPEER_ORCH_SECRET', 'ORCH_SECRET'),
    runnerUrl: env1(env, 'LIVEPEER_RUNNER_URL'),
    app: env1(env, 'LIVEPEER_APP'),
    version: env1(env, 'LIVEPEER_RUNNER_VERSION'),
    metadata: env['LIVEPEER_RUNNER_METADATA'],
  });
  const gpu = env1(env, 'LIVEPEER_RUNNER_GPU');
  if (gpu !== undefined) {
    if (/^-?\d+$/.test(gpu)) out.gpu = Number(gpu);
    else {
      try {
        out.gpu = JSON.parse(gpu) as LiveRunnerGpu;
      } catch {
        throw invalidArg('LIVEPEER_RUNNER_GPU', 'a device index or a JSON object {id, name, vram_mb}', gpu);
      }
    }
  }
  const price = env1(env, 'LIVEPEER_RUNNER_PRICE');
  if (price !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(price) || Number(price) <= 0) throw invalidArg('LIVEPEER_RUNNER_PRICE', 'a positive decimal (USD)', price);
    const unit = env1(env, 'LIVEPEER_RUNNER_PRICE_UNIT') ?? 'hour';
    if (unit !== 'hour' && unit !== '720p' && unit !== 'fixed') throw invalidArg('LIVEPEER_RUNNER_PRICE_UNIT', 'hour, 720p or fixed', unit);
    out.priceInfo = { price, currency: 'usd', unit };
  }
  return out;
}

/**
 * The plan for a worker. `register`: `false` = never, `'byoc'` / `'live-runner'` = that mode,
 * `'env'` = as described in the file comment. Throws ERR_INVALID_ARG for an unusable setting
 * (unknown mode, missing orchestrator URL or secret for a chosen mode, bad numbers).
 */
export function planRegistration(opts: {
  register: 'env' | 'byoc' | 'live-runner' | false;
  byoc?: ByocSettings | undefined;
  liveRunner?: LiveRunnerSettings | undefined;
  capabilityName?: string | undefined;
  env?: NodeJS.ProcessEnv;
}): RegistrationPlan {
  const env = opts.env ?? process.env;
  if (opts.register === false) return { mode: 'none' };
  let mode: 'none' | 'byoc' | 'live-runner' | undefined = opts.register === 'env' ? undefined : opts.register;
  if (mode === undefined) {
    const chosen = env1(env, 'LIVEPEER_REGISTRATION');
    if (chosen !== undefined) {
      if (chosen !== 'byoc' && chosen !== 'live-runner' && chosen !== 'none') throw invalidArg('LIVEPEER_REGISTRATION', 'byoc, live-runner or none', chosen);
      mode = chosen;
    } else if (opts.liveRunner) mode = 'live-runner';
    else if (opts.byoc) mode = 'byoc';
    else mode = byocSettingsFromEnv(env) ? 'byoc' : 'none';
  }
  if (mode === 'none') return { mode };
  const name = opts.capabilityName ?? env1(env, 'LIVEPEER_CAPABILITY_NAME', 'CAPABILITY_NAME') ?? DEFAULT_CAPABILITY_NAME;
  if (mode === 'byoc') {
    const fromEnv = byocSettingsFromEnv(env);
    const merged: ByocSettings = {
      ...defined({
        orchUrl: fromEnv?.orchUrl ?? env1(env, 'LIVEPEER_ORCH_URL', 'ORCH_URL'),
        orchSecret: fromEnv?.orchSecret ?? env1(env, 'LIVEPEER_ORCH_SECRET', 'ORCH_SECRET'),
        url: fromEnv?.url,
        description: fromEnv?.description,
        pricePerUnit: fromEnv?.pricePerUnit,
        priceScaling: fromEnv?.priceScaling,
        currency: fromEnv?.currency,
      }),
      ...defined(opts.byoc ?? {}),
    };
    if (!merged.orchUrl || !merged.orchSecret) throw invalidArg('BYOC registration', 'an orchestrator URL and secret (LIVEPEER_ORCH_URL / ORCH_URL and LIVEPEER_ORCH_SECRET / ORCH_SECRET, or options.byoc)', merged.orchUrl ?? '');
    return { mode, byoc: { ...merged, orchUrl: merged.orchUrl, orchSecret: merged.orchSecret }, name, envCapacity: envCapacity(env) };
  }
  const merged: LiveRunnerSettings = { ...liveRunnerFromEnv(env), ...defined(opts.liveRunner ?? {}) };
  if (!merged.orchUrl || !merged.orchSecret) throw invalidArg('live runner registration', 'an orchestrator URL and secret (LIVEPEER_ORCH_URL and LIVEPEER_ORCH_SECRET, or options.liveRunner)', merged.orchUrl ?? '');
  const app = merged.app ?? `live-video-to-video/${name}`;
  return { mode, runner: { ...merged, orchUrl: merged.orchUrl, orchSecret: merged.orchSecret, app }, envCapacity: envCapacity(env) };
}
