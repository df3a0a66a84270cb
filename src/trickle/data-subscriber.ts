/**
 * A reader of a worker's data channel: every JSON value the worker published, in order, whatever
 * the channel's format — JSON lines (several values per segment, trickle-rt's default and what
 * go-livepeer reads) or one JSON document per segment (`dataFormat: 'documents'`, the shape of the
 * Livepeer docs' `json.loads(segment.data)` reader). The `[]` keepalive is skipped.
 */
import { ErrorCodes, TrickleError } from '../errors';
import { TrickleSubscriber, type TrickleSubscriberOptions } from './trickle-subscriber';

export interface DataSubscriberOptions extends TrickleSubscriberOptions {
  /** Yield the `[]` keepalive values too (default false). */
  keepalives?: boolean;
}

/** One value read from the data channel, with the segment it came in. */
export interface DataMessage {
  value: unknown;
  seq: number;
}

function isKeepalive(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}

/**
 * The JSON values of one data segment: each line parsed on its own (JSON lines); when a line is
 * not JSON on its own, the whole segment as one document (a pretty-printed document spans lines).
 * Throws ERR_INVALID_ARG naming the segment when neither reading works.
 */
export function parseDataSegment(text: string, seq = -1): unknown[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  try {
    return lines.map((l) => JSON.parse(l) as unknown);
  } catch {
    try {
      return [JSON.parse(text) as unknown];
    } catch (err) {
      throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `data segment ${seq} is neither JSON lines nor one JSON document: ${(err as Error).message}`);
    }
  }
}

/**
 * Reads a data channel as JSON values.
 *
 * @example
 * const data = new DataSubscriber('http://127.0.0.1:3389/s1-data', { start: 0 });
 * for await (const { value } of data) console.log(value);
 */
export class DataSubscriber implements AsyncIterable<DataMessage> {
  readonly subscriber: TrickleSubscriber;
  private readonly keepalives: boolean;

  constructor(url: string | URL, options: DataSubscriberOptions = {}) {
    const { keepalives, ...rest } = options;
    this.subscriber = new TrickleSubscriber(url, rest);
    this.keepalives = keepalives ?? false;
  }

  /** Why reading ended (`'eos'` when the worker closed the channel). */
  get endReason(): TrickleSubscriber['endReason'] {
    return this.subscriber.endReason;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<DataMessage> {
    for await (const segment of this.subscriber) {
      const text = (await segment.bytes()).toString('utf8');
      for (const value of parseDataSegment(text, segment.seq)) {
        if (!this.keepalives && isKeepalive(value)) continue;
        yield { value, seq: segment.seq };
      }
    }
  }

  /** Stops reading. */
  close(): void {
    this.subscriber.close();
  }
}
