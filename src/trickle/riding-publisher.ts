/**
 * A TricklePublisher that rides out an outage of the server (an orchestrator or trickle server
 * restarting, a dropped connection) the way go-livepeer's gateway and pytrickle do: a segment
 * that cannot be delivered after the publisher's bounded retries is dropped and publishing goes on
 * with the next one; once a segment lands again, publishing has recovered. Only an outage longer
 * than `outageMs` (no segment delivered for that long) is an error.
 *
 * Threading: JS thread only.
 */
import { ErrorCodes, TrickleError } from '../errors';
import { isOutageError, RidingSegment } from './riding-segment';
import { TricklePublisher, type TricklePublisherOptions } from './trickle-publisher';

export interface OutageStart {
  url: string;
  /** The error that dropped the first segment. */
  error: string;
}

export interface OutageEnd {
  url: string;
  /** From the first dropped segment to the first delivered one. */
  outageMs: number;
  segmentsDropped: number;
}

export interface RidingPublisherOptions extends TricklePublisherOptions {
  /** How long publishing may keep failing before it is an error (default 30 000 ms). */
  outageMs?: number;
  /** The first segment was dropped. */
  onOutage?: (info: OutageStart) => void;
  /** A segment was delivered after an outage. */
  onRecovered?: (info: OutageEnd) => void;
}

/**
 * @example
 * const pub = new RidingPublisher(url, { onOutage: (i) => log.warn('output down', i), onRecovered: (i) => log.info('output back', i) });
 * for await (const seg of encoder.segments()) {
 *   const out = await pub.next();
 *   for await (const chunk of seg.chunks()) await out.write(chunk);
 *   await out.end(); // false: dropped during an outage
 * }
 */
export class RidingPublisher {
  readonly url: string;
  private publisher: TricklePublisher;
  private readonly outageMs: number;
  private outageSince = 0;
  private droppedCount = 0;
  private totalDropped = 0;
  /** What its segments report back (a narrow view, so that segments never hold the publisher). */
  private readonly outcomes = { dropped: (err: unknown) => this.dropped(err), delivered: () => this.delivered() };

  constructor(
    url: string | URL,
    private readonly options: RidingPublisherOptions = {},
  ) {
    this.url = String(url);
    this.outageMs = options.outageMs ?? 30_000;
    this.publisher = new TricklePublisher(url, options);
  }

  /** Segments dropped so far, over all outages. */
  get segmentsDropped(): number {
    return this.totalDropped;
  }

  /** True while segments are being dropped. */
  get inOutage(): boolean {
    return this.outageSince !== 0;
  }

  /**
   * The next segment. During an outage it may be one that drops its bytes (`seq` undefined).
   * Rejects with the channel's end (ERR_TRICKLE_EOS), after `close()` / an abort, or when the outage
   * outlasted `outageMs`.
   */
  async next(): Promise<RidingSegment> {
    try {
      return new RidingSegment(this.outcomes, await this.publisher.next());
    } catch (err) {
      if (!isOutageError(err)) throw err;
      this.dropped(err);
      if (this.publisher.state === 'errored') {
        // A publisher that gave up (its channel missing, its start failing) is replaced by one
        // that resumes the channel where the server is (GET next, Lp-Trickle-Reset).
        this.publisher.destroy();
        const { start: _start, reset: _reset, ...rest } = this.options;
        this.publisher = new TricklePublisher(this.url, { ...rest, start: 'next' });
      }
      return new RidingSegment(this.outcomes, undefined);
    }
  }

  /** Ends publishing (DELETE so subscribers see the end, unless `deleteOnClose` is false). */
  close(): Promise<void> {
    return this.publisher.close();
  }

  destroy(err?: Error): void {
    this.publisher.destroy(err);
  }

  private dropped(err: unknown): void {
    const now = Date.now();
    this.droppedCount++;
    this.totalDropped++;
    const message = err instanceof Error ? err.message : String(err);
    if (this.outageSince === 0) {
      this.outageSince = now;
      this.options.onOutage?.({ url: this.url, error: message });
    }
    const lasted = now - this.outageSince;
    if (lasted > this.outageMs) {
      const e = new TrickleError(
        ErrorCodes.ERR_TRICKLE_NETWORK,
        `trickle channel ${this.url} could not be published for ${lasted} ms (${this.droppedCount} segments dropped; limit ${this.outageMs} ms): ${message}`,
        { cause: err },
      );
      this.publisher.destroy(e);
      throw e;
    }
  }

  private delivered(): void {
    if (this.outageSince === 0) return;
    const info: OutageEnd = { url: this.url, outageMs: Date.now() - this.outageSince, segmentsDropped: this.droppedCount };
    this.outageSince = 0;
    this.droppedCount = 0;
    this.options.onRecovered?.(info);
  }
}
