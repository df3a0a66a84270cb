/**
 * The data side channel (worker → gateway, `application/jsonl`). Two formats:
 * - `'lines'` (default): JSONL proper, one JSON value per line, every line < 64 KiB (the gateway
 *   reads lines with a 64 KiB limit); lines queued within `dataFlushMs` go out together as one
 *   trickle segment.
 * - `'documents'`: one JSON document per trickle segment, what a reader written as
 *   `json.loads(segment.data)` (the Livepeer docs' example) expects; nothing is batched.
 * After `dataKeepaliveMs` of silence `[]` is sent as keepalive (as pytrickle). Failures are retried
 * with backoff and never end the stream; the queue is bounded (oldest values dropped and counted).
 */
import type { Logger } from '../../logger';
import type { StreamStats } from '../stream-stats';
import type { StreamTimings } from '../timings';
import { backoffMs, delay } from '../../util';
import type { ChannelPublisher } from '../transport';
import { closeSideChannel } from './close-channel';

/** The gateway's per-line limit (Go bufio.Scanner default), newline included. */
export const MAX_DATA_LINE_BYTES = 64 * 1024;

export interface DataChannelOptions {
  open: () => ChannelPublisher;
  stats: StreamStats;
  log: Logger;
  timings: Pick<StreamTimings, 'dataFlushMs' | 'dataKeepaliveMs' | 'retryInitialMs' | 'retryMaxMs'>;
  /** Queued lines beyond this are dropped, oldest first (default 1000, as pytrickle). */
  maxQueue?: number;
  /** `'lines'` (default): JSON lines, batched; `'documents'`: one JSON document per segment. */
  format?: DataChannelFormat;
}

/** How values go on the data channel; see {@link DataChannel}. */
export type DataChannelFormat = 'lines' | 'documents';

/** Serialises one value as a JSONL line, or explains why it cannot be one. */
export function toDataLine(value: unknown): { line: string } | { error: string } {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    return { error: `not JSON-serialisable: ${(err as Error).message}` };
  }
  if (text === undefined) return { error: 'not JSON-serialisable' };
  const line = `${text}\n`;
  const size = Buffer.byteLength(line);
  if (size >= MAX_DATA_LINE_BYTES) return { error: `line of ${size} bytes reaches the 64 KiB limit` };
  return { line };
}

export class DataChannel {
  private readonly queue: string[] = [];
  private publisher: ChannelPublisher | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly abort = new AbortController();
  private warnedDrop = false;

  constructor(private readonly options: DataChannelOptions) {
    this.armKeepalive();
  }

  /** Queues one value as one line. False (and a counted drop) when it cannot be sent. */
  publish(value: unknown): boolean {
    if (this.closed) {
      this.options.stats.add('dataLinesDropped');
      return false;
    }
    const result = toDataLine(value);
    if ('error' in result) {
      this.options.stats.add('dataLinesDropped');
      this.options.log.warn('data line dropped', { reason: result.error });
      return false;
    }
    if (this.queue.length >= (this.options.maxQueue ?? 1000)) {
      this.queue.shift();
      this.options.stats.add('dataLinesDropped');
      if (!this.warnedDrop) {
        this.warnedDrop = true;
        this.options.log.warn('data channel queue full; dropping oldest lines');
      }
    }
    this.queue.push(result.line);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, this.options.timings.dataFlushMs);
    return true;
  }

  private armKeepalive(): void {
    clearTimeout(this.keepaliveTimer);
    if (this.closed) return;
    this.keepaliveTimer = setTimeout(() => {
      if (this.queue.length === 0) this.enqueueSend(['[]\n'], false);
      this.armKeepalive();
    }, this.options.timings.dataKeepaliveMs);
  }

  private flush(): void {
    if (this.queue.length === 0) return;
    const lines = this.queue.splice(0, this.queue.length);
    if (this.options.format === 'documents') {
      for (const line of lines) this.enqueueSend([line], true);
      return;
    }
    this.enqueueSend(lines, true);
  }

  private enqueueSend(lines: string[], counted: boolean): void {
    this.sending = this.sending.then(() => this.send(lines, counted));
    this.armKeepalive();
  }

  private async send(lines: string[], counted: boolean): Promise<void> {
    const bytes = Buffer.from(lines.join(''));
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      try {
        this.publisher ??= this.options.open();
        const seg = await this.publisher.next();
        await seg.write(bytes);
        await seg.close();
        if (counted) this.options.stats.add('dataLinesSent', lines.length);
        return;
      } catch (err) {
        this.publisher = undefined;
        this.options.log.warn('data channel send failed; retrying', { attempt: attempt + 1, err });
        if (attempt >= 4) break;
        await delay(backoffMs(attempt, this.options.timings.retryInitialMs, this.options.timings.retryMaxMs), this.abort.signal);
      }
    }
    if (counted) this.options.stats.add('dataLinesDropped', lines.length);
  }

  /** Flushes queued lines (waiting at most `timeoutMs`), then closes the channel (DELETE). */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flush();
    this.closed = true;
    clearTimeout(this.keepaliveTimer);
    const timer = setTimeout(() => this.abort.abort(), timeoutMs);
    await this.sending;
    clearTimeout(timer);
    this.abort.abort();
    const pub = this.publisher;
    this.publisher = undefined;
    await closeSideChannel(pub, this.options.open, this.options.log);
  }
}
