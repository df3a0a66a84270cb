/**
 * The data side channel on its own, over the in-memory transport: JSONL lines (one JSON value per
 * line, each under the gateway's 64 KiB line limit), batched into segments, `[]` keepalives,
 * retries, a bounded queue, and DELETE on close. No sockets, no native code.
 */
import { describe, expect, it } from 'vitest';

import { DataChannel, MAX_DATA_LINE_BYTES, toDataLine } from '../../src/stream/channels/data-channel';
import { createLogger, type Logger } from '../../src/logger';
import { StreamStats } from '../../src/stream/stream-stats';
import type { ChannelPublisher } from '../../src/stream/transport';
import { MemoryTransport } from '../helpers/memory-transport';

const URL = 'http://t/s-data';
/** Long flush and keepalive intervals: segments go out only when a test asks (close) or waits. */
const slow = { dataFlushMs: 60_000, dataKeepaliveMs: 60_000, retryInitialMs: 1, retryMaxMs: 4 };

function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

function setup(options: { timings?: Partial<typeof slow>; maxQueue?: number; open?: () => ChannelPublisher } = {}) {
  const transport = new MemoryTransport();
  const stats = new StreamStats();
  const { log, lines } = capturingLogger();
  const signal = new AbortController().signal;
  const channel = new DataChannel({
    open: options.open ?? (() => transport.publisher(URL, { mimeType: 'application/jsonl', signal })),
    stats,
    log,
    timings: { ...slow, ...options.timings },
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
  });
  const segments = () => (transport.published.get(URL) ?? []).map((b) => b.toString('utf8'));
  return { transport, stats, lines, channel, segments };
}

describe('toDataLine', () => {
  it('serialises one JSON value per line', () => {
    expect(toDataLine({ a: 1, b: 'x\ny' })).toEqual({ line: '{"a":1,"b":"x\\ny"}\n' });
    expect(toDataLine([1, 2])).toEqual({ line: '[1,2]\n' });
    expect(toDataLine('text')).toEqual({ line: '"text"\n' });
    expect(toDataLine(null)).toEqual({ line: 'null\n' });
  });

  it('refuses values JSON cannot carry, with the reason', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(toDataLine(circular)).toEqual({ error: expect.stringMatching(/^not JSON-serialisable: .*circular/i) });
    expect(toDataLine(10n)).toEqual({ error: expect.stringMatching(/^not JSON-serialisable: .*BigInt/) });
    expect(toDataLine(undefined)).toEqual({ error: 'not JSON-serialisable' });
    expect(toDataLine(() => 1)).toEqual({ error: 'not JSON-serialisable' });
  });

  it('keeps every line, newline included, under 64 KiB', () => {
    expect(MAX_DATA_LINE_BYTES).toBe(65536);
    // '"' + s + '"' + '\n' = s.length + 3 bytes
    const largest = 'x'.repeat(MAX_DATA_LINE_BYTES - 4);
    expect(toDataLine(largest)).toEqual({ line: `"${largest}"\n` });
    expect(Buffer.byteLength((toDataLine(largest) as { line: string }).line)).toBe(MAX_DATA_LINE_BYTES - 1);
    expect(toDataLine(`${largest}x`)).toEqual({ error: 'line of 65536 bytes reaches the 64 KiB limit' });
    // the limit is in bytes, not characters: 2-byte characters count twice
    expect(toDataLine('é'.repeat(MAX_DATA_LINE_BYTES / 2))).toEqual({ error: expect.stringMatching(/^line of \d+ bytes reaches the 64 KiB limit$/) });
  });
});

describe('DataChannel', () => {
  it('sends the lines queued within one flush interval as one segment of JSONL', async () => {
    const s = setup({ timings: { dataFlushMs: 5 } });
    expect(s.channel.publish({ i: 1 })).toBe(true);
    expect(s.channel.publish({ i: 2, text: 'two\nlines' })).toBe(true);
    expect(s.channel.publish([3])).toBe(true);
    await s.transport.until(() => s.segments().length === 1, 'one segment');
    expect(s.segments()).toEqual(['{"i":1}\n{"i":2,"text":"two\\nlines"}\n[3]\n']);
    expect(s.stats.get('dataLinesSent')).toBe(3);
    s.channel.publish({ i: 4 });
    await s.transport.until(() => s.segments().length === 2, 'a second segment');
    expect(s.segments()[1]).toBe('{"i":4}\n');
    // every segment parses line by line, as the gateway's line scanner reads it
    const values = s.segments().join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
    expect(values).toEqual([{ i: 1 }, { i: 2, text: 'two\nlines' }, [3], { i: 4 }]);
    expect(s.stats.get('dataLinesSent')).toBe(4);
    await s.channel.close(1000);
  });

  it('refuses values that cannot be a line: false, counted and logged, nothing sent for them', async () => {
    const s = setup();
    expect(s.channel.publish(undefined)).toBe(false);
    expect(s.channel.publish('x'.repeat(MAX_DATA_LINE_BYTES))).toBe(false);
    expect(s.channel.publish({ ok: true })).toBe(true);
    expect(s.stats.get('dataLinesDropped')).toBe(2);
    const warnings = s.lines.filter((l) => l['msg'] === 'data line dropped');
    expect(warnings.map((l) => l['reason'])).toEqual(['not JSON-serialisable', expect.stringMatching(/reaches the 64 KiB limit/)]);
    await s.channel.close(1000);
    expect(s.segments()).toEqual(['{"ok":true}\n']);
  });

  it('sends [] as a keepalive after a silence, and not while lines are flowing', async () => {
    const s = setup({ timings: { dataKeepaliveMs: 5 } });
    await s.transport.until(() => s.segments().length >= 2, 'two keepalives');
    expect(s.segments().slice(0, 2)).toEqual(['[]\n', '[]\n']);
    // keepalives are not data lines
    expect(s.stats.get('dataLinesSent')).toBe(0);
    await s.channel.close(1000);
  });

  it('bounds the queue: beyond maxQueue the oldest lines are dropped, counted, and warned about once', async () => {
    const s = setup({ maxQueue: 3 });
    for (let i = 1; i <= 6; i++) expect(s.channel.publish({ i })).toBe(true);
    await s.channel.close(1000);
    expect(s.segments()).toEqual(['{"i":4}\n{"i":5}\n{"i":6}\n']);
    expect(s.stats.get('dataLinesDropped')).toBe(3);
    expect(s.stats.get('dataLinesSent')).toBe(3);
    expect(s.lines.filter((l) => l['msg'] === 'data channel queue full; dropping oldest lines')).toHaveLength(1);
  });

  it('retries a failed POST with a fresh publisher; the batch arrives once', async () => {
    const s = setup({ timings: { dataFlushMs: 1 } });
    s.transport.failNext.set(URL, 2);
    s.channel.publish({ i: 1 });
    s.channel.publish({ i: 2 });
    await s.transport.until(() => s.segments().length === 1, 'the batch');
    expect(s.segments()).toEqual(['{"i":1}\n{"i":2}\n']);
    expect(s.transport.opened.get(URL)).toBe(3);
    expect(s.stats.get('dataLinesSent')).toBe(2);
    expect(s.stats.get('dataLinesDropped')).toBe(0);
    const retries = s.lines.filter((l) => l['msg'] === 'data channel send failed; retrying');
    expect(retries.map((l) => l['attempt'])).toEqual([1, 2]);
    await s.channel.close(1000);
  });

  it('drops a batch after five failed attempts (counted), and sends later batches', async () => {
    const s = setup({ timings: { dataFlushMs: 1 } });
    s.transport.failNext.set(URL, 5);
    s.channel.publish({ lost: 1 });
    s.channel.publish({ lost: 2 });
    await s.transport.until(() => s.stats.get('dataLinesDropped') === 2, 'the batch dropped');
    s.channel.publish({ kept: 3 });
    await s.transport.until(() => s.segments().length === 1, 'the next batch');
    expect(s.segments()).toEqual(['{"kept":3}\n']);
    expect(s.stats.get('dataLinesSent')).toBe(1);
    expect(s.transport.opened.get(URL)).toBe(6);
    await s.channel.close(1000);
  });

  it('close() flushes queued lines at once, then DELETEs; later publishes are refused', async () => {
    const s = setup();
    s.channel.publish({ last: true });
    await s.channel.close(1000);
    expect(s.segments()).toEqual(['{"last":true}\n']);
    expect(s.transport.deleted.has(URL)).toBe(true);
    expect(s.channel.publish({ late: true })).toBe(false);
    expect(s.stats.get('dataLinesDropped')).toBe(1);
    // a second close is a no-op
    await expect(s.channel.close(1000)).resolves.toBeUndefined();
    expect(s.segments()).toHaveLength(1);
  });

  it('close() of a channel that never sent anything still opens it to DELETE it', async () => {
    const s = setup();
    await s.channel.close(1000);
    expect(s.segments()).toEqual([]);
    expect(s.transport.opened.get(URL)).toBe(1);
    expect(s.transport.deleted.has(URL)).toBe(true);
  });

  it('close() gives up on an unreachable channel after its timeout: resolves, lines counted as dropped', async () => {
    const s = setup({ timings: { retryInitialMs: 1_000, retryMaxMs: 1_000 } });
    s.transport.failNext.set(URL, 1_000);
    s.channel.publish({ a: 1 });
    s.channel.publish({ b: 2 });
    await expect(s.channel.close(20)).resolves.toBeUndefined();
    expect(s.segments()).toEqual([]);
    expect(s.stats.get('dataLinesSent')).toBe(0);
    expect(s.stats.get('dataLinesDropped')).toBe(2);
    expect(s.transport.deleted.has(URL)).toBe(true);
  });

  it('a failing DELETE at close is logged, not thrown', async () => {
    const written: string[] = [];
    const publisher: ChannelPublisher = {
      next: async () => {
        const parts: Buffer[] = [];
        return { write: async (c) => void parts.push(Buffer.from(c)), close: async () => void written.push(Buffer.concat(parts).toString()) };
      },
      close: async () => {
        throw new Error('DELETE refused');
      },
    };
    const s = setup({ open: () => publisher });
    s.channel.publish({ x: 1 });
    await expect(s.channel.close(1000)).resolves.toBeUndefined();
    expect(written).toEqual(['{"x":1}\n']);
    expect(s.lines.find((l) => l['msg'] === 'channel close failed')).toMatchObject({ err: { message: 'DELETE refused' } });
  });
});
