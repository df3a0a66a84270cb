/**
 * BYOC capability registration with a go-livepeer orchestrator, as its `byoc/job_orchestrator.go`
 * and `core/external_capabilities.go` expect it:
 *
 * - `POST {orch}/capability/register`, header `Authorization: <orchSecret>` (the raw secret), JSON
 *   `{name, description, url, capacity, price_per_unit, price_scaling[, currency][, token]}`. 200 =
 *   registered. 400 `invalid authorization` = wrong secret (never retried); another 400 = the
 *   orchestrator rejected the record (never retried). Anything else, or no answer, is retried.
 *   `token` is the bearer token the orchestrator must send to the worker; a worker that answers
 *   401 makes go-livepeer drop the capability, so a worker with a token must register it.
 * - Registering again replaces the record. go-livepeer keeps capabilities in memory only: after it
 *   restarts it has forgotten them. {@link CapabilityRegistration} therefore watches the
 *   orchestrator and registers again when it comes back from being unreachable, or when its TLS
 *   certificate changed (go-livepeer makes a new one at every start).
 * - `POST {orch}/capability/unregister` with the plain capability name as the body (not JSON) on
 *   graceful shutdown.
 *
 * Every request follows the peer TLS policy (src/trickle/tls.ts): go-livepeer's self-signed
 * certificate is accepted unless verification is configured.
 */
import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import { peerRequest } from '../trickle/peer-request';
import { createPeerAgent, isCertificateError, resolveTls, type TlsOptions } from '../trickle/tls';
import { delay, parseHttpUrl } from '../util';

export interface RegistrationOptions {
  /** Orchestrator base URL (`https://orch:8935`). */
  orchUrl: string;
  /** The orchestrator's `-orchSecret`. */
  orchSecret: string;
  /** Where the orchestrator reaches this worker. */
  url: string;
  /** Capability name (gateways ask for it by this name). */
  name: string;
  description?: string;
  /** Concurrent streams; advertise exactly what the worker serves. */
  capacity: number;
  /** Integer price per unit (go-livepeer reads an int64; default 0). */
  pricePerUnit?: number;
  /** Integer divisor of the price (default 1). */
  priceScaling?: number;
  /** Price currency (`wei`, or a fiat code with a price feed on the orchestrator); omitted when unset. */
  currency?: string;
  /** Bearer token the orchestrator must send to the worker; a function is read at each registration. */
  token?: string | (() => string | undefined);
  /** Certificate check of an https orchestrator (default: none, go-livepeer's self-signed certificate). */
  tls?: TlsOptions | false;
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
  | {
      registered: false;
      /** `rejected`: the orchestrator refused the record itself (400 other than a wrong secret). */
      reason: 'not_configured' | 'wrong_secret' | 'rejected' | 'gave_up' | 'aborted';
      attempts: number;
      lastError?: string;
    };

function endpoint(orchUrl: string, path: string): string {
  return `${orchUrl.replace(/\/+$/, '')}${path}`;
}

function tokenOf(opts: Pick<RegistrationOptions, 'token'>): string | undefined {
  const t = typeof opts.token === 'function' ? opts.token() : opts.token;
  return t === undefined || t === '' ? undefined : t;
}

/** The JSON body go-livepeer unmarshals into its `ExternalCapability`. */
export function registrationBody(opts: RegistrationOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {
    url: opts.url,
    name: opts.name,
    description: opts.description ?? '',
    capacity: opts.capacity,
    price_per_unit: opts.pricePerUnit ?? 0,
    price_scaling: opts.priceScaling ?? 1,
  };
  if (opts.currency) body['currency'] = opts.currency;
  const token = tokenOf(opts);
  if (token !== undefined) body['token'] = token;
  return body;
}

/** Checks what go-livepeer would reject or misread; throws ERR_INVALID_ARG. */
export function validateRegistration(opts: RegistrationOptions): void {
  for (const key of ['orchUrl', 'url'] as const) {
    if (!parseHttpUrl(opts[key])) throw invalidArg(`registration ${key}`, 'an http(s) URL', opts[key]);
  }
  if (typeof opts.orchSecret !== 'string' || opts.orchSecret === '') throw invalidArg('registration orchSecret', 'a non-empty string', opts.orchSecret);
  if (typeof opts.name !== 'string' || opts.name === '') throw invalidArg('registration name', 'a non-empty string', opts.name);
  if (!Number.isInteger(opts.capacity) || opts.capacity < 1) throw invalidArg('registration capacity', 'a positive integer', opts.capacity);
  // go-livepeer unmarshals both into int64: 0.5 would make it reject the whole record.
  if (opts.pricePerUnit !== undefined && (!Number.isSafeInteger(opts.pricePerUnit) || opts.pricePerUnit < 0)) {
    throw invalidArg('registration pricePerUnit', 'a non-negative integer (go-livepeer reads an int64)', opts.pricePerUnit);
  }
  if (opts.priceScaling !== undefined && (!Number.isSafeInteger(opts.priceScaling) || opts.priceScaling < 1)) {
    throw invalidArg('registration priceScaling', 'a positive integer (go-livepeer reads an int64)', opts.priceScaling);
  }
}

/**
 * Registers this worker as a BYOC capability (with retries; see the file comment).
 *
 * @example
 * const r = await registerCapability({ orchUrl: 'https://orch:8935', orchSecret: 's', url: 'http://me:8000',
 *   name: 'my-effect', description: 'demo', capacity: 2, pricePerUnit: 0, priceScaling: 1 });
 */
export async function registerCapability(opts: RegistrationOptions): Promise<RegistrationResult & { certFingerprint?: string }> {
  const log = opts.logger ?? silentLogger;
  const maxAttempts = opts.maxAttempts ?? 10;
  const delayMs = opts.delayMs ?? 2000;
  const url = endpoint(opts.orchUrl, '/capability/register');
  const agent = createPeerAgent(new URL(url), resolveTls(opts.tls), false);
  let lastError: string | undefined;
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (opts.signal?.aborted) return { registered: false, reason: 'aborted', attempts: attempt - 1 };
      const body = registrationBody(opts);
      try {
        const reply = await peerRequest(url, {
          method: 'POST',
          agent,
          headers: { Authorization: opts.orchSecret, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
          timeoutMs: opts.timeoutMs ?? 5000,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        if (reply.status === 200) {
          log.info('capability registered', { orch_url: opts.orchUrl, name: opts.name, capacity: opts.capacity, token: body['token'] !== undefined, attempts: attempt });
          return { registered: true, attempts: attempt, ...(reply.certFingerprint ? { certFingerprint: reply.certFingerprint } : {}) };
        }
        const text = reply.body.trim().slice(0, 300);
        if (reply.status === 400 && !text.startsWith('Error registering capability')) {
          log.error('capability registration refused: orchestrator secret incorrect', { orch_url: opts.orchUrl });
          return { registered: false, reason: 'wrong_secret', attempts: attempt };
        }
        if (reply.status === 400) {
          log.error('capability registration rejected by the orchestrator', { orch_url: opts.orchUrl, error: text });
          return { registered: false, reason: 'rejected', attempts: attempt, lastError: text };
        }
        lastError = `HTTP ${reply.status}`;
      } catch (err) {
        if (opts.signal?.aborted) return { registered: false, reason: 'aborted', attempts: attempt };
        lastError = (err as Error).message;
        if (isCertificateError(err)) {
          log.error("capability registration: the orchestrator's certificate was refused (TLS verification is on)", { orch_url: opts.orchUrl, error: lastError });
          return { registered: false, reason: 'rejected', attempts: attempt, lastError };
        }
      }
      log.warn('capability registration failed; retrying', { attempt, max_attempts: maxAttempts, error: lastError, delay_ms: delayMs });
      if (attempt < maxAttempts) await delay(delayMs, opts.signal);
    }
  } finally {
    agent.destroy();
  }
  const result: RegistrationResult = { registered: false, reason: 'gave_up', attempts: maxAttempts };
  if (lastError !== undefined) result.lastError = lastError;
  return result;
}

/** `POST /capability/unregister` with the plain name as the body. Resolves whether the orchestrator said ok. */
export async function unregisterCapability(opts: Pick<RegistrationOptions, 'orchUrl' | 'orchSecret' | 'name' | 'tls' | 'timeoutMs' | 'logger'>): Promise<boolean> {
  const log = opts.logger ?? silentLogger;
  const url = endpoint(opts.orchUrl, '/capability/unregister');
  const agent = createPeerAgent(new URL(url), resolveTls(opts.tls), false);
  try {
    const reply = await peerRequest(url, {
      method: 'POST',
      agent,
      headers: { Authorization: opts.orchSecret, 'Content-Type': 'text/plain' },
      body: opts.name,
      timeoutMs: opts.timeoutMs ?? 5000,
    });
    if (reply.status === 200) {
      log.info('capability unregistered', { orch_url: opts.orchUrl, name: opts.name });
      return true;
    }
    log.warn('capability unregister refused', { orch_url: opts.orchUrl, status: reply.status, body: reply.body.trim().slice(0, 200) });
  } catch (err) {
    log.warn('capability unregister failed', { orch_url: opts.orchUrl, error: (err as Error).message });
  } finally {
    agent.destroy();
  }
  return false;
}

export interface CapabilityRegistrationOptions extends RegistrationOptions {
  /** How often the orchestrator is checked for a restart (default 5000 ms). */
  watchIntervalMs?: number;
}

/**
 * Keeps one capability registered for the life of a worker: registers, then watches the
 * orchestrator (a plain request every `watchIntervalMs`) and registers again when it has been
 * unreachable or presents another certificate, i.e. when it has restarted and forgotten its
 * capabilities; `stop()` unregisters.
 */
export class CapabilityRegistration {
  /** Successful registrations so far (the first one and every re-registration). */
  registrations = 0;
  private readonly abort = new AbortController();
  private fingerprint: string | undefined;
  private lost = false;
  private loop: Promise<void> | undefined;
  private first: Promise<RegistrationResult> | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: CapabilityRegistrationOptions) {
    validateRegistration(opts);
    this.log = opts.logger ?? silentLogger;
  }

  get name(): string {
    return this.opts.name;
  }

  /** Registers (with retries) and, once registered, starts watching. Resolves the first outcome. */
  start(): Promise<RegistrationResult> {
    this.first ??= (async () => {
      const r = await this.register();
      if (r.registered) this.loop = this.watch();
      return r;
    })();
    return this.first;
  }

  /** Stops watching; unregisters unless `unregister` is false. */
  async stop(unregister = true): Promise<void> {
    this.abort.abort();
    await this.first?.catch(() => undefined);
    await this.loop;
    if (unregister && this.registrations > 0) await unregisterCapability(this.opts);
  }

  private async register(): Promise<RegistrationResult> {
    const r = await registerCapability({ ...this.opts, signal: this.abort.signal });
    if (r.registered) {
      this.registrations++;
      if (r.certFingerprint) this.fingerprint = r.certFingerprint;
      const { certFingerprint: _c, ...plain } = r;
      return plain;
    }
    return r;
  }

  private async watch(): Promise<void> {
    const interval = this.opts.watchIntervalMs ?? 5000;
    const url = endpoint(this.opts.orchUrl, '/capability/register');
    const policy = resolveTls(this.opts.tls);
    while (!this.abort.signal.aborted) {
      await delay(interval, this.abort.signal);
      if (this.abort.signal.aborted) return;
      // A fresh connection each time, so that a new certificate is seen.
      const agent = createPeerAgent(new URL(url), policy, false);
      let restarted = false;
      try {
        // Any answer means "there" (go-livepeer: 405 for a GET); a gateway in front answering 502-504 does not.
        const reply = await peerRequest(url, { method: 'GET', agent, timeoutMs: Math.max(1000, interval), signal: this.abort.signal });
        if (reply.status >= 502 && reply.status <= 504) throw new TrickleError(ErrorCodes.ERR_TRICKLE_HTTP, `HTTP ${reply.status}`);
        if (reply.certFingerprint && this.fingerprint && reply.certFingerprint !== this.fingerprint) restarted = true;
        if (reply.certFingerprint) this.fingerprint ??= reply.certFingerprint;
        if (this.lost) restarted = true;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        if (!this.lost) this.log.warn('orchestrator unreachable; will register again when it is back', { orch_url: this.opts.orchUrl, error: (err as Error).message });
        this.lost = true;
        continue;
      } finally {
        agent.destroy();
      }
      if (!restarted) continue;
      this.log.info('orchestrator back or restarted; registering again', { orch_url: this.opts.orchUrl, name: this.opts.name });
      const r = await this.register();
      this.lost = !r.registered;
      if (!r.registered && (r.reason === 'wrong_secret' || r.reason === 'rejected')) return;
    }
  }
}

/** Settings read from the environment; see {@link byocSettingsFromEnv}. */
export interface EnvRegistration {
  orchUrl: string;
  orchSecret: string;
  url: string | undefined;
  name: string | undefined;
  description: string | undefined;
  capacity: number | undefined;
  pricePerUnit: number | undefined;
  priceScaling: number | undefined;
  currency: string | undefined;
}

function first(env: NodeJS.ProcessEnv, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = env[k];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

function envInt(env: NodeJS.ProcessEnv, keys: string[], min: number): number | undefined {
  const text = first(env, ...keys);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    const key = keys.find((k) => env[k]?.trim() === text) ?? keys[0];
    throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Expected an integer ≥ ${min} in ${key} but received ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * BYOC settings from either env family: livepeer-python-gateway's `LIVEPEER_ORCH_URL`,
 * `LIVEPEER_ORCH_SECRET`, `LIVEPEER_CAPABILITY_NAME`, `LIVEPEER_CAPABILITY_URL`, `LIVEPEER_CAPACITY`,
 * `LIVEPEER_PRICE_PER_UNIT` (first), or pytrickle's `ORCH_URL`, `ORCH_SECRET`, `CAPABILITY_NAME`,
 * `CAPABILITY_DESCRIPTION`, `CAPABILITY_URL`, `CAPABILITY_CAPACITY`, `CAPABILITY_PRICE_PER_UNIT`,
 * `CAPABILITY_PRICE_SCALING`, plus `CAPABILITY_CURRENCY`. `undefined` without an orchestrator URL
 * and secret. Throws ERR_INVALID_ARG for a value go-livepeer could not use.
 */
export function byocSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): EnvRegistration | undefined {
  const orchUrl = first(env, 'LIVEPEER_ORCH_URL', 'ORCH_URL');
  const orchSecret = first(env, 'LIVEPEER_ORCH_SECRET', 'ORCH_SECRET');
  if (!orchUrl || !orchSecret) return undefined;
  return {
    orchUrl,
    orchSecret,
    url: first(env, 'LIVEPEER_CAPABILITY_URL', 'CAPABILITY_URL'),
    name: first(env, 'LIVEPEER_CAPABILITY_NAME', 'CAPABILITY_NAME'),
    description: first(env, 'LIVEPEER_CAPABILITY_DESCRIPTION', 'CAPABILITY_DESCRIPTION'),
    capacity: envInt(env, ['LIVEPEER_CAPACITY', 'CAPABILITY_CAPACITY'], 1),
    pricePerUnit: envInt(env, ['LIVEPEER_PRICE_PER_UNIT', 'CAPABILITY_PRICE_PER_UNIT'], 0),
    priceScaling: envInt(env, ['LIVEPEER_PRICE_SCALING', 'CAPABILITY_PRICE_SCALING'], 1),
    currency: first(env, 'LIVEPEER_PRICE_CURRENCY', 'CAPABILITY_CURRENCY'),
  };
}

/** The default capability name. */
export const DEFAULT_CAPABILITY_NAME = 'trickle-rt-worker';

/**
 * One registration attempt from the environment (see {@link byocSettingsFromEnv}); resolves
 * `not_configured` without a request when URL or secret is missing. `capacity` is the worker's:
 * the one advertised is always the one served.
 */
export async function registerCapabilityFromEnv(opts: {
  port: number;
  capacity: number;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  signal?: AbortSignal;
  delayMs?: number;
  maxAttempts?: number;
  token?: string;
  tls?: TlsOptions | false;
}): Promise<RegistrationResult> {
  const s = byocSettingsFromEnv(opts.env ?? process.env);
  if (!s) return { registered: false, reason: 'not_configured', attempts: 0 };
  const options: RegistrationOptions = {
    orchUrl: s.orchUrl,
    orchSecret: s.orchSecret,
    url: s.url ?? `http://localhost:${opts.port}`,
    name: s.name ?? DEFAULT_CAPABILITY_NAME,
    description: s.description ?? 'trickle-rt video processing worker',
    capacity: opts.capacity,
    pricePerUnit: s.pricePerUnit ?? 0,
    priceScaling: s.priceScaling ?? 1,
  };
  if (s.currency) options.currency = s.currency;
  if (opts.token) options.token = opts.token;
  if (opts.tls !== undefined) options.tls = opts.tls;
  if (opts.logger) options.logger = opts.logger;
  if (opts.signal) options.signal = opts.signal;
  if (opts.delayMs !== undefined) options.delayMs = opts.delayMs;
  if (opts.maxAttempts !== undefined) options.maxAttempts = opts.maxAttempts;
  const { certFingerprint: _c, ...result } = await registerCapability(options);
  return result;
}
