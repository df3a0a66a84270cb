/**
 * Capability registration with a go-livepeer orchestrator (docs/compat.md): `POST
 * {ORCH_URL}/capability/register` with `Authorization: <ORCH_SECRET>` and JSON `{url, name,
 * description, capacity, price_per_unit, price_scaling}`. 200 = registered; 400 = wrong secret
 * (stop, do not retry); anything else or a connection error = retry after a delay.
 */
import type { Logger } from '../logger';
import { silentLogger } from '../logger';

export interface RegistrationOptions {
  orchUrl: string;
  orchSecret: string;
  url: string;
  name: string;
  description: string;
  capacity: number;
  pricePerUnit: number;
  priceScaling: number;
  /** Attempts before giving up (default 10). */
  maxAttempts?: number;
  /** Delay between attempts in ms (default 2000). */
  delayMs?: number;
  /** Per-attempt timeout in ms (default 5000). */
  timeoutMs?: number;
  signal?: AbortSignal;
  logger?: Logger;
}

export type RegistrationResult =
  | { registered: true; attempts: number }
  | { registered: false; reason: 'not_configured' | 'wrong_secret' | 'gave_up' | 'aborted'; attempts: number; lastError?: string };

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Registers this worker as a BYOC capability.
 *
 * @example
 * const r = await registerCapability({ orchUrl: 'https://orch:8935', orchSecret: 's', url: 'http://me:8000',
 *   name: 'my-effect', description: 'demo', capacity: 2, pricePerUnit: 0, priceScaling: 1 });
 */
export async function registerCapability(opts: RegistrationOptions): Promise<RegistrationResult> {
  const log = opts.logger ?? silentLogger;
  const maxAttempts = opts.maxAttempts ?? 10;
  const delayMs = opts.delayMs ?? 2000;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const endpoint = `${opts.orchUrl.replace(/\/+$/, '')}/capability/register`;
  const body = JSON.stringify({
    url: opts.url,
    name: opts.name,
    description: opts.description,
    capacity: opts.capacity,
    price_per_unit: opts.pricePerUnit,
    price_scaling: opts.priceScaling,
  });
  let lastError: string | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (opts.signal?.aborted) return { registered: false, reason: 'aborted', attempts: attempt - 1 };
    try {
      const signals = [AbortSignal.timeout(timeoutMs), ...(opts.signal ? [opts.signal] : [])];
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: opts.orchSecret, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any(signals),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 200) {
        log.info('capability registered', { orch_url: opts.orchUrl, name: opts.name, attempts: attempt });
        return { registered: true, attempts: attempt };
      }
      if (res.status === 400) {
        log.error('capability registration refused: orchestrator secret incorrect', { orch_url: opts.orchUrl });
        return { registered: false, reason: 'wrong_secret', attempts: attempt };
      }
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      if (opts.signal?.aborted) return { registered: false, reason: 'aborted', attempts: attempt };
      lastError = (err as Error).message;
    }
    log.warn('capability registration failed; retrying', { attempt, max_attempts: maxAttempts, error: lastError, delay_ms: delayMs });
    if (attempt < maxAttempts) await sleep(delayMs, opts.signal);
  }
  const result: RegistrationResult = { registered: false, reason: 'gave_up', attempts: maxAttempts };
  if (lastError !== undefined) result.lastError = lastError;
  return result;
}

function envNumber(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const v = env[key];
  if (v === undefined || v.trim() === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/**
 * Registration from the environment (`ORCH_URL`, `ORCH_SECRET`, `CAPABILITY_NAME`,
 * `CAPABILITY_DESCRIPTION`, `CAPABILITY_URL`, `CAPABILITY_CAPACITY`, `CAPABILITY_PRICE_PER_UNIT`,
 * `CAPABILITY_PRICE_SCALING`); resolves `not_configured` without a request when URL or secret is missing.
 */
export async function registerCapabilityFromEnv(opts: {
  port: number;
  capacity: number;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  signal?: AbortSignal;
  delayMs?: number;
  maxAttempts?: number;
}): Promise<RegistrationResult> {
  const env = opts.env ?? process.env;
  const orchUrl = env['ORCH_URL'];
  const orchSecret = env['ORCH_SECRET'];
  if (!orchUrl || !orchSecret) return { registered: false, reason: 'not_configured', attempts: 0 };
  const options: RegistrationOptions = {
    orchUrl,
    orchSecret,
    url: env['CAPABILITY_URL'] || `http://localhost:${opts.port}`,
    name: env['CAPABILITY_NAME'] || 'trickle-rt-worker',
    description: env['CAPABILITY_DESCRIPTION'] || 'trickle-rt video processing worker',
    capacity: envNumber(env, 'CAPABILITY_CAPACITY', opts.capacity),
    pricePerUnit: envNumber(env, 'CAPABILITY_PRICE_PER_UNIT', 0),
    priceScaling: envNumber(env, 'CAPABILITY_PRICE_SCALING', 1),
  };
  if (opts.logger) options.logger = opts.logger;
  if (opts.signal) options.signal = opts.signal;
  if (opts.delayMs !== undefined) options.delayMs = opts.delayMs;
  if (opts.maxAttempts !== undefined) options.maxAttempts = opts.maxAttempts;
  return registerCapability(options);
}
