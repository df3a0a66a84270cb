/**
 * Publishes a trickle channel: one streaming HTTP POST per segment, the next one preconnected, bytes
 * leaving as they are written (chunked request body, no buffering, no copies: each Buffer given to
 * `write()` goes to the socket as is, with the socket's backpressure surfaced by `write()`).
 *
 * Threading: JS thread only. Lifecycle: idle → running → closing → closed | errored (`state`).
 */
import type { Agent } from 'node:http';

import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import { abortError, backoffMs, delay } from '../util';
import {
  httpStatusError,
  networkError,
  parseChannelUrl,
  segmentUrl,
  simpleRequest,
  validateCount,
} from './http-client';
import { HEADER_CLOSED, HEADER_LATEST, HEADER_RESET, headerInt, parseSeq } from './protocol';
import { SegmentPost } from './segment-post';
import { TrickleSegmentWriter, type SegmentChannel } from './trickle-segment-writer';

/** Retry delays double from the configured first delay up to this. */
const MAX_RETRY_DELAY_MS = 5_000;
import { createPeerAgent, resolveTls, type TlsOptions } from './tls';

export interface TricklePublisherOptions {
  /** `Content-Type` of the POSTs (the channel mime when the POST auto-creates the channel). Default `video/MP2T`. */
  mime?: string;
  /**
   * First segment index. `'next'` (default) resumes an existing channel: it asks `GET {ch}/next`
   * and sends `Lp-Trickle-Reset` with the first segment (a restarted publisher never writes into
   * already-closed seqs: docs/protocol.md, conformance case 38). A number starts there (0 = what Go publishers do).
   */
  start?: number | 'next';
  /** Send `Lp-Trickle-Reset` with the first segment. Default: true with `start: 'next'`, else false. */
  reset?: boolean;
  /** Aborts everything; pending and later calls reject with ERR_ABORTED. */
  signal?: AbortSignal;
  /** Attempts per segment beyond the first, only while no byte of the segment was sent. Default 3. */
  retries?: number;
  /** First backoff delay (ms), doubled per attempt, capped at 5 s. Default 250. */
  retryDelayMs?: number;
  /** `close()` sends `DELETE {ch}` so that subscribers see EOS. Default true. */
  deleteOnClose?: boolean;
  /** HTTP agent; default: a keep-alive agent owned by the publisher, applying `tls`. */
  agent?: Agent;
  /**
   * Certificate check of an https channel (ignored with `agent`): default env `TRICKLE_TLS_CA` if
   * set, else none (go-livepeer's self-signed certificate); `{ caFile }` verifies; `false` never.
   */
  tls?: TlsOptions | false;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

export type TricklePublisherState = 'idle' | 'running' | 'closing' | 'closed' | 'errored';

/**
 * Publishes segments to a trickle channel.
 *
 * @example
 * const pub = new TricklePublisher('http://127.0.0.1:8935/ai/trickle/stream1-out');
 * const seg = await pub.next();
 * await seg.write(tsBytes);       // leaves now; await = backpressure
 * await seg.end();                // the server has the segment
 * await pub.writeSegment(moreTs); // the same in one call
 * await pub.close();              // DELETE: subscribers see EOS
 */
export class TricklePublisher {
  /** The channel URL. */
  readonly url: URL;
  private readonly retries: number;
  /** The narrow view of this publisher that its segment writers get. */
  private readonly segmentChannel: SegmentChannel;
  private readonly retryDelayMs: number;
  private readonly mime: string;
  private readonly startOption: number | 'next';
  private readonly reset: boolean;
  private readonly deleteOnClose: boolean;
  private readonly headers: Record<string, string>;
  private readonly agent: Agent;
  /** Carries the best-effort segment DELETEs, which must outlive `destroy()` (no keep-alive). */
  private readonly dropAgent: Agent;
  private readonly ownsAgent: boolean;
  private readonly signal: AbortSignal | undefined;
  private stateValue: TricklePublisherState = 'idle';
  private failure: TrickleError | undefined;
  private seq = 0;
  private firstSeq: number | undefined;
  private starting: Promise<void> | undefined;
  private preconnect: SegmentPost | undefined;
  private closing: Promise<void> | undefined;
  /** Segments handed out and not yet settled. */
  private readonly writers = new Set<TrickleSegmentWriter>();
  private readonly onAbort = (): void => this.destroy(abortError(this.signal as AbortSignal));

  constructor(url: string | URL, options: TricklePublisherOptions = {}) {
    this.url = parseChannelUrl(url);
    const start = options.start ?? 'next';
    if (start !== 'next' && (!Number.isSafeInteger(start) || start < 0)) throw invalidArg('start', "'next' or a segment index ≥ 0", start);
    this.startOption = start;
    this.reset = options.reset ?? start === 'next';
    this.mime = options.mime ?? 'video/MP2T';
    if (typeof this.mime !== 'string') throw invalidArg('mime', 'a string', this.mime);
    this.retries = validateCount('retries', options.retries ?? 3, 0);
    this.retryDelayMs = validateCount('retryDelayMs', options.retryDelayMs ?? 250, 0);
    this.segmentChannel = {
      url: this.url,
      retries: this.retries,
      openPost: (seq) => this.openPost(seq),
      release: (writer) => this.writers.delete(writer),
      backoff: (attempt) => this.backoff(attempt),
      checkAbort: () => this.checkAbort(),
      endOfStream: () => this.endOfStream(),
      notFound: () => this.notFound(),
      dropSegment: (seq) => this.dropSegment(seq),
    };
    this.deleteOnClose = options.deleteOnClose ?? true;
    this.headers = { ...options.headers };
    this.ownsAgent = options.agent === undefined;
    const policy = resolveTls(options.tls);
    this.agent = options.agent ?? createPeerAgent(this.url, policy);
    this.dropAgent = options.agent ?? createPeerAgent(this.url, policy, false);
    this.signal = options.signal;
    if (this.signal?.aborted) {
      this.stateValue = 'errored';
      this.failure = abortError(this.signal);
    } else {
      this.signal?.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  get state(): TricklePublisherState {
    return this.stateValue;
  }

  /** The index the next `next()` hands out (known once started). */
  get nextSeq(): number {
    return this.seq;
  }

  /** Resolves the first index (GET next when resuming) and preconnects its POST. Called by `next()`. */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.assertUsable();
    let seq = 0;
    if (this.startOption === 'next') {
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await simpleRequest(segmentUrl(this.url, 'next'), 'GET', this.agent, this.headers, this.signal);
          if (r.headers[HEADER_CLOSED.toLowerCase()] !== undefined) throw this.endOfStream();
          if (r.status === 200) {
            const n = headerInt(r.headers[HEADER_LATEST.toLowerCase()]) ?? parseSeq(r.body.trim());
            if (n === undefined || n < 0) throw httpStatusError(`trickle GET ${segmentUrl(this.url, 'next')} returned no index`, r.status, r.body);
            seq = n;
          } else if (r.status !== 404) {
            // 404: the channel does not exist yet (a server with autocreate makes it on POST).
            if (r.status >= 500 && attempt < this.retries) throw new RetryableError(httpStatusError('trickle GET next', r.status, r.body));
            throw httpStatusError(`trickle GET ${segmentUrl(this.url, 'next')}`, r.status, r.body);
          }
          break;
        } catch (err) {
          this.checkAbort();
          const retryable = err instanceof RetryableError || !(err instanceof TrickleError);
          if (!retryable || attempt >= this.retries) {
            const e = err instanceof RetryableError ? err.inner : err instanceof TrickleError ? err : networkError(`trickle GET ${segmentUrl(this.url, 'next')}`, err);
            this.fail(e);
            throw e;
          }
          await this.backoff(attempt);
        }
      }
    } else {
      seq = this.startOption;
    }
    this.assertUsable();
    this.seq = seq;
    this.firstSeq = seq;
    this.stateValue = 'running';
    this.preconnect = this.openPost(seq);
  }

  /**
   * Hands out the next segment (its POST already connected) and preconnects the one after.
   * Rejects with ERR_TRICKLE_EOS once the channel was closed, ERR_STREAM_NOT_FOUND when it does
   * not exist, ERR_CLOSED after `close()`, ERR_ABORTED after an abort.
   */
  async next(): Promise<TrickleSegmentWriter> {
    await this.start();
    this.assertUsable();
    let post = this.preconnect ?? this.openPost(this.seq);
    this.preconnect = undefined;
    for (let attempt = 0; post.outcome && 'reply' in post.outcome; attempt++) {
      // The server answered the preconnect before any data: find out why.
      const reply = post.outcome.reply;
      if (reply.headers[HEADER_CLOSED.toLowerCase()] !== undefined) throw this.endOfStream();
      if (reply.status === 404) throw this.notFound();
      if (reply.status !== 200 || attempt >= this.retries) {
        const e = httpStatusError(`trickle POST ${segmentUrl(this.url, this.seq)}`, reply.status, reply.body);
        if (reply.status < 500) this.fail(e);
        throw e;
      }
      // 200 with nothing sent: segment `seq` was closed under us (DELETE, reset); the server
      // moved nextWrite past it, so continue with the following index.
      this.seq++;
      post = this.openPost(this.seq);
    }
    const writer = new TrickleSegmentWriter(this.segmentChannel, post, this.seq);
    this.writers.add(writer);
    this.seq++;
    this.preconnect = this.openPost(this.seq);
    return writer;
  }

  /** Publishes one whole segment; resolves to its index once the server acknowledged it. */
  async writeSegment(data: Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<number> {
    const seg = await this.next();
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await seg.write(data);
      else for await (const chunk of data) await seg.write(chunk);
    } catch (err) {
      seg.abort();
      throw err;
    }
    await seg.end();
    return seg.seq;
  }

  /**
   * Finishes the segments still open (ends them), waits for their acknowledgements, sends
   * `DELETE {ch}` (unless `deleteOnClose` is false) and releases the connections. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.stateValue === 'closed' || this.stateValue === 'errored') {
      this.release();
      return;
    }
    this.stateValue = 'closing';
    await this.starting?.catch(() => {});
    // Segments still open are ended with what they have; all are awaited.
    await Promise.allSettled([...this.writers].map((w) => w.end()));
    // DELETE even when nothing was published: downstream must see EOS either way (a stream whose
    // input held no decodable frame still ends its output channel).
    if (this.deleteOnClose && !this.failure) {
      await simpleRequest(this.url.toString(), 'DELETE', this.agent, this.headers, this.signal).catch(() => undefined);
    }
    this.release();
    if (this.stateValue === 'closing') this.stateValue = 'closed';
  }

  /** Aborts now: open POSTs are cut (their segments end early on the server). */
  destroy(err?: Error): void {
    if (this.stateValue === 'closed' || this.stateValue === 'errored') return;
    this.stateValue = err ? 'errored' : 'closed';
    this.failure ??= err ? (err instanceof TrickleError ? err : new TrickleError(ErrorCodes.ERR_ABORTED, err.message, { cause: err })) : new TrickleError(ErrorCodes.ERR_CLOSED, 'The publisher was destroyed');
    for (const writer of [...this.writers]) writer.abort();
    this.release();
  }

  private release(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.preconnect?.destroy();
    this.preconnect = undefined;
    if (this.ownsAgent) this.agent.destroy();
  }

  private assertUsable(): void {
    if (this.failure) throw this.failure;
    if (this.signal?.aborted) throw abortError(this.signal);
    if (this.stateValue === 'closing' || this.stateValue === 'closed') throw new TrickleError(ErrorCodes.ERR_CLOSED, 'The publisher is closed');
  }

  private fail(err: TrickleError): void {
    this.failure ??= err;
    if (this.stateValue !== 'closed') this.stateValue = 'errored';
    this.release();
  }

  // ------------------------------------------------------------ used by segment writers, through segmentChannel

  private openPost(seq: number): SegmentPost {
    const headers: Record<string, string> = { ...this.headers, 'Content-Type': this.mime };
    if (this.reset && seq === this.firstSeq) headers[HEADER_RESET] = '1';
    return new SegmentPost(segmentUrl(this.url, seq), this.agent, headers);
  }

  private async backoff(attempt: number): Promise<void> {
    await delay(backoffMs(attempt, this.retryDelayMs, MAX_RETRY_DELAY_MS), this.signal);
    this.checkAbort();
  }

  private checkAbort(): void {
    if (this.signal?.aborted) throw abortError(this.signal);
  }

  /** The channel ended (Lp-Trickle-Closed): the publisher is closed. */
  private endOfStream(): TrickleError {
    const err = new TrickleError(ErrorCodes.ERR_TRICKLE_EOS, `trickle channel ${this.url.toString()} was closed by the server`);
    this.failure ??= err;
    if (this.stateValue !== 'errored') this.stateValue = 'closed';
    this.release();
    return err;
  }

  /** The channel does not exist (404): the publisher has errored. */
  private notFound(): TrickleError {
    const err = new TrickleError(ErrorCodes.ERR_STREAM_NOT_FOUND, `trickle channel ${this.url.toString()} does not exist`);
    this.fail(err);
    return err;
  }

  /** Best-effort `DELETE {ch}/{seq}` so the server releases readers of a failed segment. */
  private dropSegment(seq: number): void {
    // Its own connection: it must survive destroy() releasing the agent's sockets.
    simpleRequest(segmentUrl(this.url, seq), 'DELETE', this.dropAgent, { ...this.headers, Connection: 'close' }).catch(() => undefined);
  }
}

class RetryableError extends Error {
  constructor(readonly inner: TrickleError) {
    super(inner.message);
  }
}
