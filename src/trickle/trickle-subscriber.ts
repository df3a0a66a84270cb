/**
 * Reads a trickle channel segment by segment: `for await (const segment of subscriber)`, each
 * segment an async iterable of the Buffers as they arrive from the socket (no copies, no read-ahead
 * beyond the socket's own buffers: a slow consumer slows the TCP stream down, memory stays bounded).
 *
 * Threading: JS thread only. Lifecycle: idle → running → closed | errored. One GET is preconnected
 * for the next segment while the current one is consumed, exactly one ahead.
 */
import type { Agent, ClientRequest, IncomingMessage } from 'node:http';

import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import { abortError, backoffMs, delay } from '../util';
import {
  httpStatusError,
  networkError,
  parseChannelUrl,
  readText,
  segmentUrl,
  startRequest,
  validateCount,
} from './http-client';
import { TrickleSegment } from './trickle-segment';
import { createPeerAgent, isCertificateError, resolveTls, type TlsOptions } from './tls';
import type { OutageEnd, OutageStart } from './riding-publisher';
import { HEADER_CLOSED, HEADER_LATEST, HEADER_SEQ, headerInt, SEQ_CURRENT, SEQ_NEXT, STATUS_SEQ_NONEXISTENT } from './protocol';

/** Retry delays double from the configured first delay up to this (short: an outage ends unannounced). */
const MAX_RETRY_DELAY_MS = 1_000;

export interface TrickleSubscriberOptions {
  /** First segment: -2 = current from its start (default, as pytrickle), -1 = the next one, N ≥ 0 = that one. */
  start?: number;
  /** Aborts everything; iteration then rejects with ERR_ABORTED. */
  signal?: AbortSignal;
  /**
   * Consecutive failed attempts (network errors, 5xx, repeated 470) before giving up, once the
   * outage also lasted `outageMs`. Default 5.
   */
  retries?: number;
  /**
   * How long the channel may stay unreachable (network errors, 5xx) before the subscriber gives up
   * (default 30 000 ms): an orchestrator or trickle server restarting within it costs only the
   * segments of the outage. After an outage it resumes at the live edge, not where it stopped.
   */
  outageMs?: number;
  /** A request failed or a segment was cut off: an outage began. */
  onOutage?: (info: OutageStart) => void;
  /** A segment arrived after an outage; `segmentsDropped` counts the cut one and those skipped to reach the live edge. */
  onRecovered?: (info: OutageEnd) => void;
  /** First backoff delay (ms), doubled per consecutive failure, capped at 1 s. Default 250. */
  retryDelayMs?: number;
  /** A GET whose response headers have not arrived for this long is re-issued (Go: 20 s). Default 20 000. */
  preconnectTimeoutMs?: number;
  /** HTTP agent; default: a keep-alive agent owned by the subscriber, applying `tls`. */
  agent?: Agent;
  /**
   * Certificate check of an https channel (ignored with `agent`): default env `TRICKLE_TLS_CA` if
   * set, else none (go-livepeer's self-signed certificate); `{ caFile }` verifies; `false` never.
   */
  tls?: TlsOptions | false;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** GETs issued ahead of the segment being consumed (responses waiting unconsumed hold a socket each). */
const MAX_AHEAD = 4;

/** Why a subscription ended: the channel's EOS, the channel not existing (404), or `close()`. */
export type TrickleEndReason = 'eos' | 'not-found' | 'closed';

export type TrickleSubscriberState = 'idle' | 'running' | 'closed' | 'errored';

/** A GET in flight for one seq; re-issued when its headers stall. */
class PendingGet {
  readonly response: Promise<IncomingMessage>;
  private req: ClientRequest | undefined;
  private timer: NodeJS.Timeout | undefined;
  private settled = false;
  private resolve!: (res: IncomingMessage) => void;
  private reject!: (err: unknown) => void;

  constructor(
    readonly seq: number,
    private readonly url: string,
    private readonly agent: Agent,
    private readonly headers: Record<string, string>,
    private readonly stallMs: number,
    /** Called synchronously when the response head arrives (the subscriber preconnects the next seq). */
    private readonly onResponse: (get: PendingGet, res: IncomingMessage) => void = () => {},
  ) {
    this.response = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.response.catch(() => {}); // consumed later (or dropped on close)
    this.issue();
  }

  private issue(): void {
    const req = startRequest(this.url, { method: 'GET', agent: this.agent, headers: this.headers });
    this.req = req;
    req.on('response', (res) => {
      if (this.req !== req) {
        res.destroy();
        return;
      }
      this.settle();
      this.resolve(res);
      this.onResponse(this, res);
    });
    req.on('error', (err) => {
      if (this.req !== req || this.settled) return;
      this.settle();
      this.reject(err);
    });
    req.end();
    // Go re-issues a preconnect that waited 20 s for headers; the old request is dropped.
    this.timer = setTimeout(() => {
      if (this.settled || this.req !== req) return;
      this.req = undefined;
      req.destroy();
      this.issue();
    }, this.stallMs);
    this.timer.unref();
  }

  private settle(): void {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    const req = this.req;
    this.req = undefined;
    if (!this.settled) {
      this.settled = true;
      this.reject(new TrickleError(ErrorCodes.ERR_CLOSED, 'cancelled'));
    }
    req?.destroy();
    this.response.then((res) => res.destroy(), () => {});
  }
}

/**
 * Subscribes to a trickle channel.
 *
 * @example
 * const sub = new TrickleSubscriber('http://127.0.0.1:8935/ai/trickle/stream1', { start: -2 });
 * for await (const segment of sub) {
 *   for await (const chunk of segment) demuxer.push(chunk);
 * }
 * console.log(sub.endReason); // 'eos' when the publisher closed the channel
 */
export class TrickleSubscriber implements AsyncIterable<TrickleSegment> {
  private readonly channel: URL;
  private readonly agent: Agent;
  private readonly ownsAgent: boolean;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly stallMs: number;
  private readonly headers: Record<string, string>;
  private readonly signal: AbortSignal | undefined;
  private readonly outageMs: number;
  private seq: number;
  /**
   * GETs issued ahead, in seq order. The GET for seq N+1 goes out the moment N's response head
   * arrives (as go-livepeer's client), whether or not the consumer is done with earlier segments;
   * at most MAX_AHEAD responses wait unconsumed.
   */
  private queue: PendingGet[] = [];
  /** The last GET failed: the next answer is checked against the live edge. */
  private recovering = false;
  /** The outage in progress: when it began and the first seq it cost. */
  private outage: { since: number; expected: number } | undefined;
  private readonly onOutage: ((info: OutageStart) => void) | undefined;
  private readonly onRecovered: ((info: OutageEnd) => void) | undefined;
  /** The GET whose response read() is awaiting. */
  private awaited: PendingGet | undefined;
  private current: TrickleSegment | undefined;
  private iterating = false;
  private reading = false;
  private stateValue: TrickleSubscriberState = 'idle';
  private reason: TrickleEndReason | undefined;
  private readonly onAbort = (): void => this.shutdown('errored');

  constructor(url: string | URL, options: TrickleSubscriberOptions = {}) {
    this.channel = parseChannelUrl(url);
    const start = options.start ?? SEQ_CURRENT;
    if (!Number.isSafeInteger(start) || start < SEQ_CURRENT) throw invalidArg('start', '-2, -1 or a segment index ≥ 0', start);
    this.seq = start;
    this.retries = validateCount('retries', options.retries ?? 5, 0);
    this.retryDelayMs = validateCount('retryDelayMs', options.retryDelayMs ?? 250, 0);
    this.outageMs = validateCount('outageMs', options.outageMs ?? 30_000, 0);
    this.onOutage = options.onOutage;
    this.onRecovered = options.onRecovered;
    this.stallMs = validateCount('preconnectTimeoutMs', options.preconnectTimeoutMs ?? 20_000, 1);
    this.headers = { ...options.headers };
    this.ownsAgent = options.agent === undefined;
    this.agent = options.agent ?? createPeerAgent(this.channel, resolveTls(options.tls));
    this.signal = options.signal;
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get state(): TrickleSubscriberState {
    return this.stateValue;
  }

  /** Why iteration ended (undefined while running). */
  get endReason(): TrickleEndReason | undefined {
    return this.reason;
  }

  /** The seq the next `read()` asks for (-1/-2 until the server resolved one). */
  get nextSeq(): number {
    return this.seq;
  }

  /**
   * Returns the next segment, or undefined once the channel ended (EOS, 404, `close()`). Any
   * previous segment not fully consumed is discarded. Rejects with ERR_ABORTED, ERR_TRICKLE_HTTP
   * (unexpected status) or ERR_TRICKLE_NETWORK (retries exhausted).
   */
  async read(): Promise<TrickleSegment | undefined> {
    if (this.reading) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, 'TrickleSubscriber.read() called while another read() is pending');
    this.reading = true;
    try {
      return await this.readInner();
    } finally {
      this.reading = false;
    }
  }

  private async readInner(): Promise<TrickleSegment | undefined> {
    this.current?.discard();
    this.current = undefined;
    let failures = 0;
    let outageSince = 0;
    let nonexistent = 0;
    const failed = async (get: PendingGet, cause: unknown): Promise<void> => {
      failures++;
      this.outageBegins(get.seq >= 0 ? get.seq : undefined, cause);
      this.recovering = true;
      this.dropQueue();
      const now = Date.now();
      if (outageSince === 0) outageSince = now;
      const outage = now - outageSince;
      if (isCertificateError(cause)) {
        throw this.fail(networkError(`trickle GET ${segmentUrl(this.channel, get.seq)}: the server's certificate was refused (TLS verification is on: TRICKLE_TLS_CA / tls option)`, cause));
      }
      if (failures > this.retries && outage >= this.outageMs) {
        const what = `trickle GET ${segmentUrl(this.channel, get.seq)} failed ${failures} times over ${outage} ms`;
        throw this.fail(cause instanceof TrickleError ? new TrickleError(cause.code, `${what}: ${cause.message}`, { cause }) : networkError(what, cause));
      }
      await this.backoff(failures - 1);
    };
    for (;;) {
      this.checkAlive();
      if (this.stopped()) return undefined;
      this.stateValue = 'running';
      let get = this.queue[0];
      if (get?.seq === this.seq) this.queue.shift();
      else {
        this.dropQueue();
        get = this.issue(this.seq, false);
      }
      let res: IncomingMessage;
      this.awaited = get;
      try {
        res = await get.response;
      } catch (err) {
        this.awaited = undefined;
        this.checkAlive();
        if (this.stopped()) return undefined;
        await failed(get, err);
        continue;
      }
      this.awaited = undefined;
      this.checkAlive();
      if (this.stopped()) {
        res.destroy();
        return undefined;
      }
      const status = res.statusCode ?? 0;
      // Lp-Trickle-Closed means EOS whatever the status (Go checks it first).
      if (res.headers[HEADER_CLOSED.toLowerCase()] !== undefined) {
        res.resume();
        return this.end('eos');
      }
      if (status === 404) {
        res.resume();
        return this.end('not-found');
      }
      if (status === STATUS_SEQ_NONEXISTENT) {
        res.resume();
        this.dropQueue();
        const latest = headerInt(res.headers[HEADER_LATEST.toLowerCase()]);
        if (latest === undefined || latest < 0) throw this.fail(httpStatusError(`trickle GET ${segmentUrl(this.channel, get.seq)} returned 470 without ${HEADER_LATEST}`, status, ''));
        // Jump to the live edge at once; back off only when the jump itself keeps missing.
        if (nonexistent > 0) await this.backoff(nonexistent - 1);
        nonexistent++;
        if (nonexistent > this.retries + 1) throw this.fail(httpStatusError(`trickle GET kept answering 470 (latest ${latest})`, status, ''));
        this.seq = latest;
        continue;
      }
      if (status === 200) {
        const served = headerInt(res.headers[HEADER_SEQ.toLowerCase()]);
        const latest = headerInt(res.headers[HEADER_LATEST.toLowerCase()]);
        const seq = served !== undefined && served >= 0 ? served : get.seq;
        if (this.recovering && latest !== undefined && seq >= 0 && seq < latest - 1) {
          // Back from an outage with older segments still retained: skip them, go to the segment
          // being written now (the live edge) rather than replaying what the outage held up.
          res.destroy();
          this.dropQueue();
          this.recovering = false;
          this.seq = latest - 1;
          continue;
        }
        this.recovering = false;
        if (this.outage) {
          const info: OutageEnd = { url: this.channel.toString(), outageMs: Date.now() - this.outage.since, segmentsDropped: Math.max(0, seq - this.outage.expected) };
          this.outage = undefined;
          this.onRecovered?.(info);
        }
        this.seq = seq >= 0 ? seq + 1 : SEQ_NEXT;
        // The next segment's GET normally went out when this response arrived; make sure of it.
        if (this.queue[0]?.seq !== this.seq) {
          this.dropQueue();
          this.issue(this.seq);
        }
        const segment = new TrickleSegment(seq, res, latest, () => this.interruption(), (cause) => {
          this.recovering = true;
          this.outageBegins(seq, cause);
        });
        this.current = segment;
        return segment;
      }
      const body = await readText(res).catch(() => '');
      this.checkAlive();
      if (status >= 500) {
        await failed(get, httpStatusError(`trickle GET ${segmentUrl(this.channel, get.seq)}`, status, body));
        continue;
      }
      throw this.fail(httpStatusError(`trickle GET ${segmentUrl(this.channel, get.seq)}`, status, body));
    }
  }

  /** Ends the subscription: pending requests are dropped, iteration finishes (`endReason` 'closed'). */
  close(): void {
    if (this.stateValue === 'closed' || this.stateValue === 'errored') return;
    this.reason ??= 'closed';
    this.shutdown('closed');
  }

  [Symbol.asyncIterator](): AsyncIterator<TrickleSegment> {
    if (this.iterating) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, 'A TrickleSubscriber can be iterated only once');
    this.iterating = true;
    return {
      next: async () => {
        const segment = await this.read();
        return segment ? { value: segment, done: false } : { value: undefined, done: true };
      },
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  private stopped(): boolean {
    return this.stateValue === 'closed' || this.stateValue === 'errored';
  }

  private interruption(): TrickleError | 'closed' | undefined {
    if (this.signal?.aborted) return abortError(this.signal);
    if (this.stateValue === 'closed') return 'closed';
    return undefined;
  }

  /** Issues `GET {seq}`; queued (`queued`) to be consumed in order. */
  private issue(seq: number, queued = true): PendingGet {
    const get = new PendingGet(seq, segmentUrl(this.channel, seq), this.agent, this.headers, this.stallMs, (g, res) => this.preconnectAfter(g, res));
    if (queued) this.queue.push(get);
    return get;
  }

  /** A response head arrived: issue the following seq's GET now, unless too many wait already. */
  private preconnectAfter(get: PendingGet, res: IncomingMessage): void {
    if (this.stopped() || res.statusCode !== 200 || res.headers[HEADER_CLOSED.toLowerCase()] !== undefined) return;
    const served = headerInt(res.headers[HEADER_SEQ.toLowerCase()]);
    const seq = served !== undefined && served >= 0 ? served : get.seq;
    if (seq < 0) return;
    const last = this.queue[this.queue.length - 1];
    // Only extend the chain from its end (or from the GET being awaited when nothing is queued).
    if (last ? last !== get : this.awaited !== get) return;
    if (this.queue.length >= MAX_AHEAD) return;
    this.issue(seq + 1);
  }

  private outageBegins(expected: number | undefined, cause: unknown): void {
    if (this.outage) return;
    this.outage = { since: Date.now(), expected: expected ?? Math.max(0, this.seq) };
    this.onOutage?.({ url: this.channel.toString(), error: cause instanceof Error ? cause.message : String(cause) });
  }

  private dropQueue(): void {
    for (const get of this.queue) get.cancel();
    this.queue = [];
  }

  private async backoff(attempt: number): Promise<void> {
    await delay(backoffMs(attempt, this.retryDelayMs, MAX_RETRY_DELAY_MS), this.signal);
    this.checkAlive();
  }

  private checkAlive(): void {
    if (this.signal?.aborted) throw abortError(this.signal);
  }

  private end(reason: TrickleEndReason): undefined {
    this.reason = reason;
    this.shutdown('closed');
    return undefined;
  }

  private fail(err: TrickleError): TrickleError {
    this.shutdown('errored');
    return err;
  }

  private shutdown(state: 'closed' | 'errored'): void {
    if (this.stateValue === 'closed' || this.stateValue === 'errored') return;
    this.stateValue = state;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.dropQueue();
    this.awaited?.cancel();
    this.awaited = undefined;
    this.current?.discard();
    if (this.ownsAgent) this.agent.destroy();
  }
}
