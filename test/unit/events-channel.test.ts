/**
 * The events side channel on its own, over the in-memory transport: one JSON object per trickle
 * segment, retried with backoff on failure, bounded, DELETEd on close, and never throwing into the
 * stream. No sockets, no native code.
 */
import { describe, expect, it } from 'vitest';

import { EventsChannel } from '../../src/stream/channels/events-channel';
import { createLogger, type Logger } from '../../src/logger';
import { StreamStats } from '../../src/stream/stream-stats';
import type { ChannelPublisher, SegmentSink } from '../../src/stream/transport';
import { MemoryTransport } from '../helpers/memory-transport';

const URL = 'http://t/s-events';
const timings = { retryInitialMs: 1, retryMaxMs: 4 };

function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

function setup(options: { maxQueue?: number; maxAttempts?: number; open?: () => ChannelPublisher } = {}) {
  const transport = new MemoryTransport();
  const stats = new StreamStats();
  const { log, lines } = capturingLogger();
  const signal = new AbortController().signal;
  const { open, ...limits } = options;
  const channel = new EventsChannel({
    open: open ?? (() => transport.publisher(URL, { mimeType: 'application/json', signal })),
    stats,
    log,
    timings,
    ...limits,
  });
  return { transport, stats, lines, channel, events: () => transport.json(URL) };
}

/** A publisher whose segments are held until `release()`; records what was written. */
function gatedPublisher() {
  const written: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let closes = 0;
  const publisher: ChannelPublisher = {
    next: async (): Promise<SegmentSink> => {
      await gate;
      const parts: Buffer[] = [];
      return {
        write: async (chunk) => void parts.push(Buffer.from(chunk)),
        close: async () => void written.push(Buffer.concat(parts).toString('utf8')),
      };
    },
    close: async () => {
      closes += 1;
    },
  };
  return {
    publisher,
    written,
    closes: () => closes,
    open: () => {
      release();
    },
  };
}

describe('EventsChannel', () => {
  it('posts each event as one segment {"event", "queue_event_type"}, in order', async () => {
    const s = setup();
    s.channel.send({ type: 'heartbeat', timestamp: 1, fps: { ingress_video_fps: 0 } }, 'stream_heartbeat');
    s.channel.send({ type: 'params_updated', params: { prompt: 'ü' } }, 'ai_stream_events');
    s.channel.send({ type: 'mine', value: [1, 2, 3] }, 'custom_monitoring_event');
    await s.transport.until(() => s.events().length === 3, 'three events');
    expect(s.events()).toEqual([
      { event: { type: 'heartbeat', timestamp: 1, fps: { ingress_video_fps: 0 } }, queue_event_type: 'stream_heartbeat' },
      { event: { type: 'params_updated', params: { prompt: 'ü' } }, queue_event_type: 'ai_stream_events' },
      { event: { type: 'mine', value: [1, 2, 3] }, queue_event_type: 'custom_monitoring_event' },
    ]);
    // the exact bytes of one segment: plain JSON, no trailing newline, UTF-8
    expect(s.transport.published.get(URL)![1]!.toString('utf8')).toBe(
      '{"event":{"type":"params_updated","params":{"prompt":"ü"}},"queue_event_type":"ai_stream_events"}',
    );
    expect(s.stats.get('eventsSent')).toBe(3);
    expect(s.stats.get('eventsFailed')).toBe(0);
    // one publisher for the whole channel while nothing fails
    expect(s.transport.opened.get(URL)).toBe(1);
    await s.channel.close(1000);
  });

  it('retries a failed POST with a fresh publisher until it goes through; nothing is thrown', async () => {
    const s = setup();
    s.transport.failNext.set(URL, 2);
    expect(() => s.channel.send({ type: 'first' }, 'ai_stream_events')).not.toThrow();
    s.channel.send({ type: 'second' }, 'ai_stream_events');
    await s.transport.until(() => s.events().length === 2, 'both events');
    expect(s.events().map((e) => (e as { event: { type: string } }).event.type)).toEqual(['first', 'second']);
    expect(s.stats.get('eventsSent')).toBe(2);
    expect(s.stats.get('eventsFailed')).toBe(2);
    // the publisher is re-created after each failure
    expect(s.transport.opened.get(URL)).toBe(3);
    const retries = s.lines.filter((l) => l['msg'] === 'events channel send failed; retrying');
    expect(retries.map((l) => l['attempt'])).toEqual([1, 2]);
    expect(retries[0]!['err']).toMatchObject({ message: `injected failure on ${URL}` });
    await s.channel.close(1000);
  });

  it('drops an event after maxAttempts failures and goes on with the next one', async () => {
    const s = setup({ maxAttempts: 3 });
    s.transport.failNext.set(URL, 3);
    s.channel.send({ type: 'lost' }, 'ai_stream_events');
    s.channel.send({ type: 'kept' }, 'ai_stream_events');
    await s.transport.until(() => s.events().length === 1, 'the second event');
    expect(s.events()).toEqual([{ event: { type: 'kept' }, queue_event_type: 'ai_stream_events' }]);
    expect(s.stats.get('eventsFailed')).toBe(3);
    expect(s.stats.get('eventsSent')).toBe(1);
    await s.channel.close(1000);
  });

  it('bounds the queue: beyond maxQueue the oldest waiting events are dropped and counted', async () => {
    const gated = gatedPublisher();
    const s = setup({ maxQueue: 2, open: () => gated.publisher });
    s.channel.send({ n: 1 }, 'q'); // taken at once; its POST waits on the gate
    await new Promise((r) => setImmediate(r));
    for (let n = 2; n <= 5; n++) s.channel.send({ n }, 'q');
    gated.open();
    await s.channel.close(1000);
    const delivered = gated.written.map((w) => (JSON.parse(w) as { event: { n: number } }).event.n);
    // the one in flight is delivered; of the four that waited, the two newest are kept
    expect(delivered).toEqual([1, 4, 5]);
    expect(s.stats.get('eventsSent')).toBe(3);
    expect(s.stats.get('eventsFailed')).toBe(2);
  });

  it('close() sends what is queued, then DELETEs the channel (EOS for the gateway)', async () => {
    const s = setup();
    for (let n = 0; n < 5; n++) s.channel.send({ n }, 'q');
    await s.channel.close(1000);
    expect(s.events().map((e) => (e as { event: { n: number } }).event.n)).toEqual([0, 1, 2, 3, 4]);
    expect(s.transport.deleted.has(URL)).toBe(true);
    // events sent after close are ignored, not queued, not thrown
    expect(() => s.channel.send({ n: 99 }, 'q')).not.toThrow();
    await new Promise((r) => setTimeout(r, 10));
    expect(s.events()).toHaveLength(5);
  });

  it('close() of a channel that never sent anything still opens it to DELETE it', async () => {
    const s = setup();
    await s.channel.close(1000);
    expect(s.transport.opened.get(URL)).toBe(1);
    expect(s.transport.deleted.has(URL)).toBe(true);
    expect(s.events()).toEqual([]);
  });

  it('close() gives up on an unreachable channel after its timeout and resolves', async () => {
    const s = setup({ maxAttempts: 1_000_000 });
    s.transport.failNext.set(URL, 1_000_000);
    s.channel.send({ type: 'never' }, 'q');
    await s.transport.until(() => s.stats.get('eventsFailed') >= 3, 'a few failed attempts');
    await expect(s.channel.close(30)).resolves.toBeUndefined();
    expect(s.stats.get('eventsSent')).toBe(0);
    expect(s.events()).toEqual([]);
    // the DELETE is still attempted (MemoryTransport's close never fails)
    expect(s.transport.deleted.has(URL)).toBe(true);
  });

  it('a failing DELETE at close is logged, not thrown', async () => {
    const publisher: ChannelPublisher = {
      next: async () => ({ write: async () => {}, close: async () => {} }),
      close: async () => {
        throw new Error('DELETE refused');
      },
    };
    const s = setup({ open: () => publisher });
    s.channel.send({ type: 'x' }, 'q');
    await expect(s.channel.close(1000)).resolves.toBeUndefined();
    expect(s.stats.get('eventsSent')).toBe(1);
    const line = s.lines.find((l) => l['msg'] === 'channel close failed');
    expect(line).toMatchObject({ level: 'debug', err: { message: 'DELETE refused' } });
  });

  it('an open() that throws is a failed attempt like any other', async () => {
    let calls = 0;
    const gated = gatedPublisher();
    gated.open();
    const s = setup({
      open: () => {
        calls += 1;
        if (calls === 1) throw new Error('bad url');
        return gated.publisher;
      },
    });
    s.channel.send({ type: 'x' }, 'q');
    await s.channel.close(1000);
    expect(gated.written).toEqual(['{"event":{"type":"x"},"queue_event_type":"q"}']);
    expect(s.stats.get('eventsFailed')).toBe(1);
    expect(gated.closes()).toBe(1);
  });
});
