/**
 * An in-memory TransportFactory for unit tests of channels and sessions: publishers append whole
 * segments to a named channel; subscribers read segments pushed with `push()`. Failures can be
 * injected per channel.
 */
import { ErrorCodes, TrickleError } from '../../src/errors';
import type { ChannelPublisher, ChannelSubscriber, SegmentSink, TransportFactory } from '../../src/stream/transport';

export class MemoryTransport implements TransportFactory {
  readonly published = new Map<string, Buffer[]>();
  readonly deleted = new Set<string>();
  /** Channels whose next N `next()` calls reject. */
  readonly failNext = new Map<string, number>();
  private readonly inbox = new Map<string, { segments: Buffer[]; ended: boolean; gone: boolean; wake?: () => void }>();
  private readonly waiters = new Set<() => void>();
  opened = new Map<string, number>();

  publisher(url: string, _o: { mimeType: string; signal: AbortSignal }): ChannelPublisher {
    this.opened.set(url, (this.opened.get(url) ?? 0) + 1);
    return {
      next: async (): Promise<SegmentSink> => {
        const fails = this.failNext.get(url) ?? 0;
        if (fails > 0) {
          this.failNext.set(url, fails - 1);
          throw new Error(`injected failure on ${url}`);
        }
        const parts: Buffer[] = [];
        return {
          write: async (chunk) => {
            parts.push(Buffer.from(chunk));
          },
          close: async () => {
            const list = this.published.get(url) ?? [];
            list.push(Buffer.concat(parts));
            this.published.set(url, list);
            for (const w of [...this.waiters]) w();
          },
        };
      },
      close: async () => {
        this.deleted.add(url);
        for (const w of [...this.waiters]) w();
      },
    };
  }

  private box(url: string) {
    let b = this.inbox.get(url);
    if (!b) {
      b = { segments: [], ended: false, gone: false };
      this.inbox.set(url, b);
    }
    return b;
  }

  /** Queues one segment for subscribers of `url`. */
  push(url: string, bytes: string | Buffer): void {
    const b = this.box(url);
    b.segments.push(Buffer.from(bytes));
    b.wake?.();
  }
  /** Segments that end cut short: their bytes, then the error a trickle segment throws when its connection is cut. */
  private readonly cutSegments = new WeakSet<Buffer>();
  /** Pushes a segment whose bytes arrive and which then ends cut short (its publisher went away). */
  pushCut(url: string, bytes: string | Buffer): void {
    const seg = Buffer.from(bytes);
    this.cutSegments.add(seg);
    const b = this.box(url);
    b.segments.push(seg);
    b.wake?.();
  }
  /** Ends the current subscription of `url` (as if the channel disappeared: subscribers see the end). */
  endSubscription(url: string, gone = false): void {
    const b = this.box(url);
    b.ended = true;
    b.gone = gone;
    b.wake?.();
  }
  /** Lets a new subscription of `url` start again. */
  revive(url: string): void {
    const b = this.box(url);
    b.ended = false;
    b.gone = false;
  }
  subscriptions = new Map<string, number>();

  subscriber(url: string, o: { start?: number; signal: AbortSignal }): ChannelSubscriber {
    this.subscriptions.set(url, (this.subscriptions.get(url) ?? 0) + 1);
    const box = this.box(url);
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        while (!o.signal.aborted) {
          if (box.gone) throw new Error('404 stream not found');
          const seg = box.segments.shift();
          if (seg) {
            const cut = self.cutSegments.has(seg);
            yield (async function* () {
              // deliver in two chunks to exercise reassembly
              const mid = Math.floor(seg.length / 2);
              if (mid > 0) yield seg.subarray(0, mid);
              yield seg.subarray(mid);
              if (cut) throw new TrickleError(ErrorCodes.ERR_TRICKLE_NETWORK, `trickle segment was cut off after ${seg.length} bytes`);
            })();
            continue;
          }
          if (box.ended) {
            box.ended = false;
            return;
          }
          await new Promise<void>((resolve) => {
            box.wake = resolve;
            o.signal.addEventListener('abort', () => resolve(), { once: true });
          });
          box.wake = undefined;
        }
        void self;
      },
    };
  }

  /** JSON of every segment published to `url`. */
  json(url: string): unknown[] {
    return (this.published.get(url) ?? []).map((b) => JSON.parse(b.toString('utf8')) as unknown);
  }

  /** Resolves once `predicate()` holds, re-checked after every publish. */
  async until(predicate: () => boolean, what = 'condition'): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(done, 50);
        this.waiters.add(done);
      });
    }
  }
}
