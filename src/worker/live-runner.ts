/**
 * A go-livepeer live runner with dynamic registration (go-livepeer `doc/live-runner.md`,
 * `ai/runner/live_runner.go`, the handlers in `server/ai_http.go`), for any Node service:
 *
 * - bootstrap: `POST {orch}/runners/heartbeat` with `Authorization: <orchSecret>` and the whole
 *   registration (`runner_url`, `app`, `capacity`, `mode`, `status`, optional `version`,
 *   `metadata`, `gpu`, `price_info`); the answer gives `runner_id`, `heartbeat_interval`,
 *   `heartbeat_ttl`, a `heartbeat_secret` and the O2R channel;
 * - heartbeats at the returned interval with `Authorization: <heartbeat_secret>`, each carrying the
 *   whole registration again (a heartbeat replaces the stored record) and the local session ids;
 *   a heartbeat refused with 401 or 404 (the orchestrator restarted, swept or forgot the runner)
 *   means bootstrap again, under a new runner id;
 * - reconciliation: a session missing from a heartbeat's `session_ids`, or announced `released`
 *   on the O2R channel, is gone: `onReleased` stops its stream and its capacity is free again;
 * - `stop()`: `POST {orch}/runners/{id}/unregister` with the heartbeat secret.
 *
 * The runner's `status` comes from the worker (`loading` until its processor is ready): any status
 * other than `ready` hides the runner from discovery and reservation.
 */
import { invalidArg } from '../errors';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import { peerRequest } from '../trickle/peer-request';
import { createPeerAgent, resolveTls, type TlsOptions } from '../trickle/tls';
import { TrickleSubscriber } from '../trickle/trickle-subscriber';
import { delay, parseHttpUrl } from '../util';

/** `gpu` of a registration: a description, or a local device index. */
export type LiveRunnerGpu = { id?: string; name?: string; vram_mb?: number } | number;

/** `price_info` of a registration (go-livepeer converts USD prices on-chain; ignored offchain). */
export interface LiveRunnerPrice {
  price: number | string;
  currency?: string;
  unit?: 'hour' | '720p' | 'fixed';
}

export interface LiveRunnerOptions {
  /** Orchestrator base URL (runner-facing: `-liveRunnerAddr` or its service address). */
  orchUrl: string;
  /** The orchestrator's `-orchSecret` (bootstrap only). */
  orchSecret: string;
  /** Where the orchestrator proxies session requests to (this worker's address). */
  runnerUrl: string;
  /** Application id, conventionally `live-video-to-video/<name>`. */
  app: string;
  /** Concurrent sessions (the worker's capacity). */
  capacity: number;
  version?: string;
  /** Public text shown in discovery (≤ 1024 UTF-8 bytes; never secrets). */
  metadata?: string;
  gpu?: LiveRunnerGpu;
  priceInfo?: LiveRunnerPrice;
  /** Current status: `ready`, or anything else (`loading`, `error`) to stay hidden. */
  status?: () => string;
  /** Session ids served locally (sent with each heartbeat). */
  sessions?: () => string[];
  /** The orchestrator released a session (or forgot it): stop its stream. */
  onReleased?: (sessionId: string, why: 'released' | 'forgotten') => void;
  tls?: TlsOptions | false;
  logger?: Logger;
  /** Per-request timeout (default 5000 ms). */
  timeoutMs?: number;
  /** First retry delay after a failed bootstrap (default 1000 ms, doubled up to the heartbeat interval). */
  retryDelayMs?: number;
}

/** Parses a Go duration string (`5s`, `500ms`, `1m30s`) to milliseconds; undefined if invalid. */
export function parseGoDuration(text: unknown): number | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * (units[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return total;
}

export function validateLiveRunner(opts: LiveRunnerOptions): void {
  for (const key of ['orchUrl', 'runnerUrl'] as const) {
    if (!parseHttpUrl(opts[key])) throw invalidArg(`liveRunner.${key}`, 'an absolute http(s) URL', opts[key]);
  }
  if (typeof opts.orchSecret !== 'string' || opts.orchSecret === '') throw invalidArg('liveRunner.orchSecret', 'a non-empty string', opts.orchSecret);
  if (typeof opts.app !== 'string' || opts.app === '' || opts.app !== opts.app.trim()) throw invalidArg('liveRunner.app', 'a non-empty string without surrounding spaces', opts.app);
  if (!Number.isInteger(opts.capacity) || opts.capacity < 1) throw invalidArg('liveRunner.capacity', 'a positive integer', opts.capacity);
  if (opts.metadata !== undefined && (typeof opts.metadata !== 'string' || Buffer.byteLength(opts.metadata) > 1024)) {
    throw invalidArg('liveRunner.metadata', 'a string of at most 1024 UTF-8 bytes', opts.metadata);
  }
}

interface Session {
  runnerId: string;
  secret: string;
  intervalMs: number;
  ttlMs: number;
}

/**
 * @example
 * const runner = new LiveRunner({ orchUrl: 'https://orch:8935', orchSecret: 's', runnerUrl: 'http://me:8000',
 *   app: 'live-video-to-video/tint', capacity: 1, onReleased: (sid) => stopStream(sid) });
 * runner.start();
 * // … on SIGTERM, after draining:
 * await runner.stop();
 */
export class LiveRunner {
  /** Bootstraps that succeeded (1 + re-registrations). */
  bootstraps = 0;
  /** Heartbeats answered 200. */
  heartbeats = 0;
  private session: Session | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private o2r: TrickleSubscriber | undefined;
  private readonly log: Logger;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: LiveRunnerOptions) {
    validateLiveRunner(opts);
    this.log = (opts.logger ?? silentLogger).child({ component: 'live-runner' });
  }

  /** The id the orchestrator knows this runner by (undefined until registered). */
  get runnerId(): string | undefined {
    return this.session?.runnerId;
  }

  /** Starts bootstrapping and heartbeating in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Sends a heartbeat now (e.g. after the status changed) instead of at the next interval. */
  heartbeatNow(): void {
    this.wake?.();
  }

  /** Stops heartbeating and unregisters (`POST /runners/{id}/unregister`). */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    this.o2r?.close();
    const s = this.session;
    this.session = undefined;
    if (!s) return;
    try {
      const reply = await this.request(`/runners/${encodeURIComponent(s.runnerId)}/unregister`, s.secret, undefined, false);
      if (reply.status === 204 || reply.status === 200) this.log.info('live runner unregistered', { runner_id: s.runnerId });
      else this.log.warn('live runner unregister refused', { runner_id: s.runnerId, status: reply.status, body: reply.body.trim().slice(0, 200) });
    } catch (err) {
      this.log.warn('live runner unregister failed', { runner_id: s.runnerId, error: (err as Error).message });
    }
  }

  /** The registration as sent with every heartbeat. */
  registration(): Record<string, unknown> {
    const o = this.opts;
    const body: Record<string, unknown> = {
      // Without it a heartbeat is a new registration (go-livepeer makes up an id).
      ...(this.session ? { runner_id: this.session.runnerId } : {}),
      runner_url: o.runnerUrl,
      app: o.app,
      capacity: o.capacity,
      mode: 'persistent',
      status: o.status?.() ?? 'ready',
    };
    if (o.version) body['version'] = o.version;
    if (o.metadata) body['metadata'] = o.metadata;
    if (o.gpu !== undefined) body['gpu'] = o.gpu;
    if (o.priceInfo) body['price_info'] = { ...o.priceInfo, price: Number(o.priceInfo.price) };
    const sessions = o.sessions?.() ?? [];
    if (sessions.length > 0) body['session_ids'] = sessions;
    return body;
  }

  private async request(path: string, auth: string, body: unknown, json = true): Promise<{ status: number; body: string }> {
    const url = `${this.opts.orchUrl.replace(/\/+$/, '')}${path}`;
    const agent = createPeerAgent(new URL(url), resolveTls(this.opts.tls), false);
    try {
      return await peerRequest(url, {
        method: 'POST',
        agent,
        headers: { Authorization: auth, ...(json ? { 'Content-Type': 'application/json' } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        timeoutMs: this.opts.timeoutMs ?? 5000,
      });
    } finally {
      agent.destroy();
    }
  }

  private async sleep(ms: number): Promise<void> {
    await Promise.race([delay(ms, this.abort.signal), new Promise<void>((resolve) => (this.wake = resolve))]);
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      const s = this.session;
      let reply: { status: number; body: string };
      try {
        reply = await this.request('/runners/heartbeat', s ? s.secret : this.opts.orchSecret, this.registration());
      } catch (err) {
        failures++;
        if (failures === 1) this.log.warn('orchestrator unreachable; retrying', { orch_url: this.opts.orchUrl, error: (err as Error).message });
        await this.sleep(Math.min(s?.intervalMs ?? 5000, (this.opts.retryDelayMs ?? 1000) * 2 ** Math.min(failures - 1, 5)));
        continue;
      }
      if (reply.status === 200) {
        failures = 0;
        let answer: Record<string, unknown>;
        try {
          answer = JSON.parse(reply.body) as Record<string, unknown>;
        } catch {
          this.log.warn('heartbeat answer is not JSON; retrying', { body: reply.body.slice(0, 200) });
          await this.sleep(5000);
          continue;
        }
        if (!s && !this.bootstrapped(answer)) {
          this.log.error('live runner bootstrap answer lacks runner_id or heartbeat_secret; retrying', { body: reply.body.slice(0, 200) });
          await this.sleep(5000);
          continue;
        }
        if (s) this.heartbeats++;
        this.reconcile(answer['session_ids']);
        await this.sleep(this.session?.intervalMs ?? 5000);
        continue;
      }
      const text = reply.body.trim().slice(0, 200);
      if (s && (reply.status === 401 || reply.status === 404)) {
        // The orchestrator no longer knows this runner (restart, TTL sweep): register anew.
        this.log.warn('heartbeat refused; registering again', { runner_id: s.runnerId, status: reply.status, body: text });
        this.dropSession('forgotten');
        continue;
      }
      failures++;
      const fatal = !s && (reply.status === 401 || reply.status === 400);
      this.log.error(fatal ? 'live runner registration refused' : 'live runner heartbeat failed', {
        status: reply.status,
        body: text,
        hint: reply.status === 401 ? 'check the orchestrator secret' : reply.status === 404 ? 'is the orchestrator started with -useLiveRunners?' : undefined,
      });
      // A wrong secret or a refused registration will not fix itself quickly: retry slowly.
      await this.sleep(fatal ? 30_000 : Math.min(30_000, (this.opts.retryDelayMs ?? 1000) * 2 ** Math.min(failures, 5)));
    }
  }

  private bootstrapped(answer: Record<string, unknown>): boolean {
    const runnerId = answer['runner_id'];
    const secret = answer['heartbeat_secret'];
    if (typeof runnerId !== 'string' || typeof secret !== 'string' || secret === '') return false;
    this.session = {
      runnerId,
      secret,
      intervalMs: parseGoDuration(answer['heartbeat_interval']) ?? 5000,
      ttlMs: parseGoDuration(answer['heartbeat_ttl']) ?? 20_000,
    };
    this.bootstraps++;
    this.log.info('live runner registered', { runner_id: runnerId, app: this.opts.app, interval_ms: this.session.intervalMs });
    const o2r = answer['o2r'] as { url?: unknown } | undefined;
    if (o2r && typeof o2r.url === 'string') this.listenO2R(o2r.url);
    return true;
  }

  private dropSession(why: 'forgotten'): void {
    this.session = undefined;
    this.o2r?.close();
    this.o2r = undefined;
    // A new registration starts with no sessions: every local one is gone on the orchestrator.
    for (const sid of this.opts.sessions?.() ?? []) this.opts.onReleased?.(sid, why);
  }

  private reconcile(ids: unknown): void {
    if (!Array.isArray(ids)) return;
    const known = new Set(ids.filter((x): x is string => typeof x === 'string'));
    for (const sid of this.opts.sessions?.() ?? []) {
      if (!known.has(sid)) {
        this.log.info('session no longer held by the orchestrator; stopping it', { session_id: sid });
        this.opts.onReleased?.(sid, 'forgotten');
      }
    }
  }

  /** Reads the O2R channel: `{"keep":"alive"}`, `{"event":"reserved"|"released","session":…}`. */
  private listenO2R(url: string): void {
    this.o2r?.close();
    const sub = new TrickleSubscriber(url, { start: -2, signal: this.abort.signal, tls: this.opts.tls ?? undefined, outageMs: 0, retries: 3 });
    this.o2r = sub;
    void (async () => {
      try {
        for await (const segment of sub) {
          let message: Record<string, unknown>;
          try {
            message = JSON.parse((await segment.bytes()).toString('utf8')) as Record<string, unknown>;
          } catch {
            continue;
          }
          if (message['event'] === 'released' && typeof message['session'] === 'string') {
            if ((this.opts.sessions?.() ?? []).includes(message['session'])) {
              this.log.info('session released by the orchestrator', { session_id: message['session'] });
              this.opts.onReleased?.(message['session'], 'released');
            }
          } else if (message['event'] === 'reserved') {
            this.log.debug('session reserved', { session_id: message['session'] });
          }
        }
      } catch (err) {
        if (!this.abort.signal.aborted) this.log.debug('O2R channel ended', { error: (err as Error).message });
      }
    })();
  }
}
