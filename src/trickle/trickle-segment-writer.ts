/**
 * One segment being published by a TricklePublisher (see trickle-publisher.ts).
 * Threading: JS thread only.
 */
import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import { httpStatusError, networkError, segmentUrl } from './http-client';
import { HEADER_CLOSED, HEADER_SEQ } from './protocol';
import type { PostReply, SegmentPost } from './segment-post';

const RESOLVED = Promise.resolve();

/**
 * What a segment writer needs from the publisher that opened it: the publisher hands each writer
 * this narrow view of itself, so the writer never reaches into the publisher's internals.
 */
export interface SegmentChannel {
  /** The channel URL. */
  readonly url: URL;
  /** POST attempts a segment may make before it fails (the publisher's `retries`). */
  readonly retries: number;
  /** Opens a fresh POST for segment `seq`. */
  openPost(seq: number): SegmentPost;
  /** The writer finished (acknowledged, failed or aborted): stop tracking it. */
  release(writer: TrickleSegmentWriter): void;
  /** Waits before retry `attempt`; throws ERR_ABORTED when the publisher's signal aborts. */
  backoff(attempt: number): Promise<void>;
  /** Throws ERR_ABORTED when the publisher's signal has aborted. */
  checkAbort(): void;
  /** The server closed the channel (Lp-Trickle-Closed): closes the publisher, returns the error. */
  endOfStream(): TrickleError;
  /** The channel does not exist (404): fails the publisher, returns the error. */
  notFound(): TrickleError;
  /** Best-effort `DELETE {ch}/{seq}` so the server releases readers of a failed segment. */
  dropSegment(seq: number): void;
}

/**
 * One segment being published. `write()` sends bytes right away and resolves when more may be
 * written (backpressure); `end()` finishes the segment and resolves once the server stored it.
 * Errors are reported by `end()`; `write()` never rejects.
 */
export class TrickleSegmentWriter {
  private bytes = 0;
  private attempts = 0;
  private ended = false;
  private result: Promise<void> | undefined;
  private reopening: Promise<void> | undefined;
  private fatal: TrickleError | undefined;
  /** Data was given after the server had already answered (so it never left). */
  private dropped = false;

  /** @internal */
  constructor(
    private readonly channel: SegmentChannel,
    private post: SegmentPost,
    /** The segment index. */
    readonly seq: number,
  ) {}

  /** Bytes handed to the socket so far. */
  get bytesWritten(): number {
    return this.bytes;
  }

  /**
   * Sends a chunk now. Resolves at once, or when the socket drained if it is backed up. Never
   * rejects (a failure is reported by `end()`); chunks written after a failure are dropped.
   */
  write(chunk: Uint8Array | string): Promise<void> {
    if (this.ended) throw new TrickleError(ErrorCodes.ERR_CLOSED, `Segment ${this.seq} was already ended`);
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!(data instanceof Uint8Array)) throw invalidArg('chunk', 'a Buffer, Uint8Array or string', chunk);
    return this.send(data);
  }

  private send(data: Uint8Array): Promise<void> {
    if (data.length === 0 || this.fatal) return RESOLVED;
    if (this.reopening) return this.reopening.then(() => this.send(data));
    if (this.bytes === 0 && this.post.failedOnNetwork) {
      // Nothing of this segment left yet: retry the POST (bounded, with backoff).
      this.reopening = this.reopen().then(
        () => {
          this.reopening = undefined;
        },
        (err: unknown) => {
          this.reopening = undefined;
          this.fatal = err instanceof TrickleError ? err : networkError(`trickle POST ${this.seq}`, err);
        },
      );
      return this.reopening.then(() => this.send(data));
    }
    if (this.post.answered) {
      this.dropped = true;
      return RESOLVED;
    }
    this.bytes += data.length;
    const req = this.post.req;
    if (req.write(data)) return RESOLVED;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        req.off('drain', done);
        req.off('close', done);
        resolve();
      };
      req.on('drain', done);
      req.on('close', done);
    });
  }

  /** Ends the segment (after an optional last chunk); resolves when the server acknowledged it. */
  end(chunk?: Uint8Array | string): Promise<void> {
    if (this.result) return this.result;
    if (chunk !== undefined) void this.write(chunk);
    this.ended = true;
    this.result = this.finish();
    this.result.catch(() => {});
    void this.result.then(
      () => this.channel.release(this),
      () => this.channel.release(this),
    );
    return this.result;
  }

  /** True once end() or abort() was called. */
  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Drops this segment: the POST is cut. If bytes were sent, `DELETE {ch}/{seq}` (best effort)
   * tells the server to end it for its readers (go-livepeer's server would otherwise keep them
   * waiting); a segment with no byte sent is left open for a resuming publisher to fill.
   */
  abort(): void {
    if (this.result) return;
    this.ended = true;
    this.fatal ??= new TrickleError(ErrorCodes.ERR_ABORTED, `Segment ${this.seq} was aborted`);
    this.post.destroy();
    if (this.bytes > 0) this.channel.dropSegment(this.seq);
    this.result = Promise.reject(this.fatal);
    this.result.catch(() => {});
    this.channel.release(this);
  }

  private async reopen(): Promise<void> {
    this.attempts++;
    if (this.attempts > this.channel.retries) throw this.fatal ?? new TrickleError(ErrorCodes.ERR_TRICKLE_NETWORK, `trickle POST ${this.seq} failed after ${this.attempts} attempts`);
    this.post.destroy();
    await this.channel.backoff(this.attempts - 1);
    this.post = this.channel.openPost(this.seq);
  }

  private async finish(): Promise<void> {
    for (;;) {
      if (this.reopening) await this.reopening;
      if (this.fatal) throw this.fatal;
      const post = this.post;
      if (this.bytes === 0 && post.failedOnNetwork) {
        await this.reopen();
        continue;
      }
      post.ended = true;
      if (!post.answered) post.req.end();
      let reply: PostReply;
      try {
        reply = await post.reply;
      } catch (err) {
        this.channel.checkAbort();
        if (this.bytes === 0 && this.attempts < this.channel.retries) {
          await this.reopen();
          continue;
        }
        this.channel.dropSegment(this.seq);
        throw networkError(`trickle POST ${segmentUrl(this.channel.url, this.seq)} failed after ${this.bytes} bytes`, err);
      }
      if (reply.headers[HEADER_CLOSED.toLowerCase()] !== undefined) throw this.channel.endOfStream();
      if (reply.status === 404) throw this.channel.notFound();
      if (reply.status === 200) {
        // A 200 that closes the connection is the server's zero-bytes-read path (closed segment):
        // whatever we sent was dropped.
        const zeroRead = String(reply.headers.connection ?? '').toLowerCase() === 'close' && reply.headers[HEADER_SEQ.toLowerCase()] !== undefined;
        if ((reply.early || zeroRead) && (this.bytes > 0 || this.dropped)) {
          throw new TrickleError(ErrorCodes.ERR_TRICKLE_HTTP, `trickle segment ${this.seq} was closed by the server before its data arrived; the data was dropped`);
        }
        return;
      }
      if (reply.status >= 500 && this.bytes === 0 && this.attempts < this.channel.retries) {
        await this.reopen();
        continue;
      }
      if (this.bytes > 0) this.channel.dropSegment(this.seq);
      throw httpStatusError(`trickle POST ${segmentUrl(this.channel.url, this.seq)}`, reply.status, reply.body);
    }
  }
}

