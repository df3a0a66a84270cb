/**
 * The control side channel (gateway → worker, `application/json`): each trickle segment holds one
 * JSON object, a params update. `{"keep":"alive"}` (sent every 10 s by go-livepeer) is ignored.
 * Updates are applied one at a time with latest-wins coalescing: while one is being applied, only
 * the newest of the messages that arrive meanwhile is applied next. Oversize, non-JSON and invalid
 * messages are reported (counted, logged, `error` event) and skipped. When the subscription ends or
 * fails (channel gone, network error), it is re-opened with exponential backoff until the stream
 * stops: a control channel that disappears never ends the stream.
 */
import { validateParams, type StreamParams } from '../../params';
import type { Logger } from '../../logger';
import type { StreamStats } from '../stream-stats';
import type { StreamTimings } from '../timings';
import { backoffMs, delay } from '../../util';
import type { ChannelSubscriber } from '../transport';

export interface ControlChannelOptions {
  open: (signal: AbortSignal) => ChannelSubscriber;
  /** Applies one validated update; a rejection is logged and reported, the channel goes on. */
  apply: (params: StreamParams) => Promise<void>;
  /** Reports a skipped message or a failed update (the session turns it into an `error` event). */
  report: (message: string) => void;
  stats: StreamStats;
  log: Logger;
  timings: Pick<StreamTimings, 'retryInitialMs' | 'retryMaxMs'>;
  signal: AbortSignal;
  /** Largest accepted message (default 1 MiB; pytrickle reads only the first 32 KiB chunk). */
  maxMessageBytes?: number;
}

/** True for go-livepeer's `{"keep":"alive"}` keepalive. */
export function isKeepalive(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (value as Record<string, unknown>)['keep'] === 'alive';
}

/** Parses one control message: a params update, a keepalive, or the reason it is skipped. */
export function parseControlMessage(bytes: Buffer): { kind: 'params'; params: StreamParams } | { kind: 'keepalive' } | { kind: 'invalid'; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { kind: 'invalid', reason: `not JSON: ${(err as Error).message}` };
  }
  if (isKeepalive(value)) return { kind: 'keepalive' };
  try {
    return { kind: 'params', params: validateParams(value) };
  } catch (err) {
    return { kind: 'invalid', reason: (err as Error).message };
  }
}

export class ControlChannel {
  private pending: StreamParams | undefined;
  private applying: Promise<void> | undefined;
  readonly done: Promise<void>;

  constructor(private readonly options: ControlChannelOptions) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    const { signal, log } = this.options;
    const max = this.options.maxMessageBytes ?? 1024 * 1024;
    let failures = 0;
    while (!signal.aborted) {
      try {
        for await (const segment of this.options.open(signal)) {
          const chunks: Buffer[] = [];
          let size = 0;
          let oversize = false;
          for await (const chunk of segment) {
            size += chunk.byteLength;
            if (size > max) oversize = true;
            else chunks.push(Buffer.from(chunk));
          }
          failures = 0;
          if (signal.aborted) return;
          if (size === 0) continue;
          if (oversize) {
            this.skip(`control message of ${size} bytes exceeds the ${max}-byte limit`);
            continue;
          }
          const msg = parseControlMessage(Buffer.concat(chunks));
          if (msg.kind === 'keepalive') continue;
          if (msg.kind === 'invalid') {
            this.skip(`invalid control message: ${msg.reason}`);
            continue;
          }
          this.options.stats.add('controlMessages');
          this.enqueue(msg.params);
        }
        if (signal.aborted) return;
        log.warn('control channel ended; re-subscribing', { attempt: failures + 1 });
      } catch (err) {
        if (signal.aborted) return;
        log.warn('control channel failed; re-subscribing', { attempt: failures + 1, err });
      }
      await delay(backoffMs(failures, this.options.timings.retryInitialMs, this.options.timings.retryMaxMs), signal);
      failures += 1;
    }
  }

  private skip(reason: string): void {
    this.options.stats.add('controlErrors');
    this.options.log.warn('control message skipped', { reason });
    this.options.report(reason);
  }

  private enqueue(params: StreamParams): void {
    this.pending = params;
    this.applying ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.pending !== undefined && !this.options.signal.aborted) {
      const next = this.pending;
      this.pending = undefined;
      try {
        await this.options.apply(next);
      } catch (err) {
        this.options.stats.add('controlErrors');
        this.options.log.warn('control params update failed', { err });
      }
    }
    this.applying = undefined;
  }
}
