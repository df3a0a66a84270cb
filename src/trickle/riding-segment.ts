/**
 * One segment of a RidingPublisher (see riding-publisher.ts): its bytes go to the server, or are
 * dropped while the server is away. Threading: JS thread only.
 */
import { ErrorCodes, TrickleError } from '../errors';
import { isCertificateError } from './tls';
import type { TrickleSegmentWriter } from './trickle-segment-writer';

/** Errors that mean "the server is not there right now", as opposed to the channel's end or an abort. */
export function isOutageError(err: unknown): boolean {
  if (isCertificateError(err)) return false;
  if (!(err instanceof TrickleError)) return true;
  return err.code === ErrorCodes.ERR_TRICKLE_NETWORK || err.code === ErrorCodes.ERR_TRICKLE_HTTP || err.code === ErrorCodes.ERR_STREAM_NOT_FOUND;
}

/** How a segment reports its outcome to its publisher. */
export interface SegmentOutcomes {
  /** The segment could not be delivered; throws when the outage has outlasted its bound. */
  dropped(err: unknown): void;
  delivered(): void;
}

/** One segment of a RidingPublisher: its bytes go out, or are dropped during an outage. */
export class RidingSegment {
  /** @internal */
  constructor(
    private readonly outcomes: SegmentOutcomes,
    private readonly writer: TrickleSegmentWriter | undefined,
  ) {}

  /** The segment index, or undefined when the segment is dropped from the start. */
  get seq(): number | undefined {
    return this.writer?.seq;
  }

  /** Sends a chunk (or drops it during an outage). Never rejects. */
  write(chunk: Uint8Array): Promise<void> {
    return this.writer ? this.writer.write(chunk) : Promise.resolve();
  }

  /**
   * Ends the segment. Resolves `true` when the server has it, `false` when it was dropped; rejects
   * only when the outage outlasted `outageMs`, or with the channel's end (ERR_TRICKLE_EOS) or an abort.
   */
  async end(): Promise<boolean> {
    if (!this.writer) return false;
    try {
      await this.writer.end();
    } catch (err) {
      if (!isOutageError(err)) throw err;
      this.outcomes.dropped(err);
      return false;
    }
    this.outcomes.delivered();
    return true;
  }
}
