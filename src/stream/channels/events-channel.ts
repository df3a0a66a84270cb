/**
 * The events side channel (worker → gateway, `application/json`): one JSON object per trickle
 * segment, `{"event": {...}, "queue_event_type": "<type>"}`. Sending never throws and never ends the
 * stream: a failed POST is retried with exponential backoff (the publisher is re-created after a
 * failure), the queue is bounded (oldest dropped and counted).
 */
import type { Logger } from '../../logger';
import type { StreamStats } from '../stream-stats';
import type { StreamTimings } from '../timings';
import { backoffMs, delay } from '../../util';
import type { ChannelPublisher } from '../transport';
import { closeSideChannel } from './close-channel';

export interface EventsChannelOptions {
  /** Creates (or re-creates after a failure) the channel's publisher. */
  open: () => ChannelPublisher;
  stats: StreamStats;
  log: Logger;
  timings: Pick<StreamTimings, 'retryInitialMs' | 'retryMaxMs'>;
  /** Queued events beyond this are dropped, oldest first (default 256). */
  maxQueue?: number;
  /** Attempts per event before it is dropped (default 5). */
  maxAttempts?: number;
}

export interface QueuedEvent {
  event: Record<string, unknown>;
  queue_event_type: string;
}

/** Largest serialised event accepted (bytes); larger ones are dropped and counted. */
export const MAX_EVENT_BYTES = 1024 * 1024;

export class EventsChannel {
  /** Serialised `{event, queue_event_type}` messages waiting to be posted. */
  private readonly queue: Buffer[] = [];
  private wake: (() => void) | undefined;
  private publisher: ChannelPublisher | undefined;
  private closing = false;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;

  constructor(private readonly options: EventsChannelOptions) {
    this.loop = this.run();
  }

  /**
   * Queues one event, serialised now (so a later change to `event` does not alter it). An event that
   * cannot be serialised (a cycle, nesting deep enough to overflow the stack, a BigInt) or is over
   * {@link MAX_EVENT_BYTES} is dropped, counted in `eventsFailed` and logged; never thrown.
   */
  send(event: Record<string, unknown>, queueEventType: string): void {
    if (this.closing) return;
    const message: QueuedEvent = { event, queue_event_type: queueEventType };
    let bytes: Buffer;
    try {
      bytes = Buffer.from(JSON.stringify(message));
    } catch (err) {
      this.options.stats.add('eventsFailed');
      this.options.log.warn('event dropped: not serialisable as JSON', { queue_event_type: queueEventType, error: (err as Error)?.message ?? String(err) });
      return;
    }
    if (bytes.length > MAX_EVENT_BYTES) {
      this.options.stats.add('eventsFailed');
      this.options.log.warn('event dropped: too large', { queue_event_type: queueEventType, bytes: bytes.length, limit: MAX_EVENT_BYTES });
      return;
    }
    const max = this.options.maxQueue ?? 256;
    if (this.queue.length >= max) {
      this.queue.shift();
      this.options.stats.add('eventsFailed');
    }
    this.queue.push(bytes);
    this.wake?.();
  }

  private async run(): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    while (!this.abort.signal.aborted) {
      // Taken off the queue before its POST starts: a full queue then drops the oldest *waiting*
      // event, never the one being sent (which would be delivered yet counted as failed).
      const bytes = this.queue.shift();
      if (!bytes) {
        if (this.closing) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      let sent = false;
      for (let attempt = 0; attempt < maxAttempts && !this.abort.signal.aborted; attempt++) {
        try {
          this.publisher ??= this.options.open();
          const seg = await this.publisher.next();
          await seg.write(bytes);
          await seg.close();
          sent = true;
          break;
        } catch (err) {
          this.options.stats.add('eventsFailed');
          this.options.log.warn('events channel send failed; retrying', { attempt: attempt + 1, err });
          this.publisher = undefined;
          await delay(backoffMs(attempt, this.options.timings.retryInitialMs, this.options.timings.retryMaxMs), this.abort.signal);
        }
      }
      if (sent) this.options.stats.add('eventsSent');
    }
  }

  /**
   * Sends what is queued (waiting at most `timeoutMs`), then closes the channel (DELETE, so the
   * gateway sees EOS).
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.wake?.();
    const timer = setTimeout(() => this.abort.abort(), timeoutMs);
    await this.loop;
    clearTimeout(timer);
    this.abort.abort();
    const pub = this.publisher;
    this.publisher = undefined;
    await closeSideChannel(pub, this.options.open, this.options.log);
  }
}
