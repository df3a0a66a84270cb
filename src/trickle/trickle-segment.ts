/**
 * One segment received by a TrickleSubscriber (see trickle-subscriber.ts).
 * Threading: JS thread only.
 */
import type { IncomingMessage } from 'node:http';

import { ErrorCodes, TrickleError } from '../errors';
import { networkError } from './http-client';

/**
 * One segment being received. Iterate it once for its chunks (they arrive live); `seq` is the
 * segment index the server served. Breaking out of the iteration discards the rest of the segment.
 */
export class TrickleSegment implements AsyncIterable<Buffer> {
  private consumed = false;
  private finished = false;
  private received = 0;

  /** @internal */
  constructor(
    /** The segment index (from `Lp-Trickle-Seq`). */
    readonly seq: number,
    private readonly res: IncomingMessage,
    /** The channel's nextWrite when the server answered, if it said (`Lp-Trickle-Latest`). */
    readonly latest: number | undefined,
    /** Tells why the subscriber stopped this segment: an error to throw, 'closed' to end quietly. */
    private readonly interruption: () => TrickleError | 'closed' | undefined = () => undefined,
    /** Told when the segment was cut off by the network (the subscriber then resumes at the live edge). */
    private readonly onCut: (cause: unknown) => void = () => {},
  ) {}

  /** The `Content-Type` the server sent (the channel mime). */
  get contentType(): string | undefined {
    return this.res.headers['content-type'];
  }

  /** Bytes received so far. */
  get bytesReceived(): number {
    return this.received;
  }

  /** True once the whole segment was received. */
  get complete(): boolean {
    return this.finished;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.consumed) throw new TrickleError(ErrorCodes.ERR_CLOSED, `Segment ${this.seq} was already consumed`);
    this.consumed = true;
    try {
      for await (const chunk of this.res as AsyncIterable<Buffer>) {
        this.received += chunk.length;
        yield chunk;
      }
    } catch (err) {
      const why = this.interruption();
      if (why === 'closed') return;
      if (why) throw why;
      if (err instanceof TrickleError) throw err;
      this.onCut(err);
      throw networkError(`trickle segment ${this.seq} was cut off after ${this.received} bytes`, err);
    }
    if (!this.res.complete) {
      const why = this.interruption();
      if (why === 'closed') return;
      if (why) throw why;
      this.onCut(new Error('connection closed'));
      throw networkError(`trickle segment ${this.seq} was cut off after ${this.received} bytes`, 'connection closed');
    }
    this.finished = true;
  }

  /** Collects the whole segment into one Buffer (convenience for small segments: control, events). */
  async bytes(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of this) parts.push(chunk);
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** Drops the rest of the segment. */
  discard(): void {
    this.consumed = true;
    if (!this.res.complete) this.res.destroy();
  }
}

