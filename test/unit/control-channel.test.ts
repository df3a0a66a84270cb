/**
 * The control side channel on its own, over the in-memory transport: every trickle segment is one
 * JSON message (delivered in two chunks by MemoryTransport, so reassembly is exercised), turned into
 * a params update, a skipped keepalive, or a reported error. No sockets, no native code.
 */
import { describe, expect, it } from 'vitest';

import { ControlChannel, isKeepalive, parseControlMessage } from '../../src/stream/channels/control-channel';
import { createLogger, type Logger } from '../../src/logger';
import type { StreamParams } from '../../src/params';
import { StreamStats } from '../../src/stream/stream-stats';
import { MemoryTransport } from '../helpers/memory-transport';

const URL = 'http://t/s-control';
const timings = { retryInitialMs: 1, retryMaxMs: 4 };

function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

interface Setup {
  transport: MemoryTransport;
  channel: ControlChannel;
  applied: StreamParams[];
  reports: string[];
  stats: StreamStats;
  lines: Array<Record<string, unknown>>;
  abort: AbortController;
  /** Resolves once `n` updates were applied or reported, re-checked after every apply/report. */
  settled: (n: number) => Promise<void>;
}

function setup(overrides: { apply?: (p: StreamParams) => Promise<void>; maxMessageBytes?: number } = {}): Setup {
  const transport = new MemoryTransport();
  const applied: StreamParams[] = [];
  const reports: string[] = [];
  const stats = new StreamStats();
  const { log, lines } = capturingLogger();
  const abort = new AbortController();
  let notify: (() => void) | undefined;
  const changed = () => notify?.();
  const channel = new ControlChannel({
    open: (signal) => transport.subscriber(URL, { start: -1, signal }),
    apply: async (params) => {
      try {
        if (overrides.apply) await overrides.apply(params);
        applied.push(params);
      } finally {
        changed();
      }
    },
    report: (message) => {
      reports.push(message);
      changed();
    },
    stats,
    log,
    timings,
    signal: abort.signal,
    ...(overrides.maxMessageBytes !== undefined ? { maxMessageBytes: overrides.maxMessageBytes } : {}),
  });
  const settled = async (n: number) => {
    while (stats.get('controlMessages') + stats.get('controlErrors') < n) {
      await new Promise<void>((resolve) => {
        notify = resolve;
        setTimeout(resolve, 20);
      });
    }
    // the apply of the last counted message may still be running
    await new Promise((r) => setImmediate(r));
  };
  return { transport, channel, applied, reports, stats, lines, abort, settled };
}

describe('parseControlMessage', () => {
  it('turns a JSON object into validated params (pytrickle coercions applied, other keys untouched)', () => {
    expect(parseControlMessage(Buffer.from('{"prompt":"cat","max_framerate":"30","width":"640","height":360}'))).toEqual({
      kind: 'params',
      params: { prompt: 'cat', max_framerate: 30, width: 640, height: 360 },
    });
    expect(parseControlMessage(Buffer.from('  {"detect_out_resolution":"no"}\n'))).toEqual({
      kind: 'params',
      params: { detect_out_resolution: false },
    });
  });

  it('recognises exactly go-livepeer\'s {"keep":"alive"} as a keepalive', () => {
    expect(parseControlMessage(Buffer.from('{"keep":"alive"}'))).toEqual({ kind: 'keepalive' });
    expect(isKeepalive({ keep: 'alive' })).toBe(true);
    expect(isKeepalive({ keep: 'alive', prompt: 'x' })).toBe(false);
    expect(isKeepalive({ keep: 'dead' })).toBe(false);
    expect(isKeepalive(['keep', 'alive'])).toBe(false);
    expect(isKeepalive(null)).toBe(false);
    expect(isKeepalive('{"keep":"alive"}')).toBe(false);
    // a keep key next to real params is an update, not a keepalive
    expect(parseControlMessage(Buffer.from('{"keep":"alive","prompt":"x"}'))).toEqual({
      kind: 'params',
      params: { keep: 'alive', prompt: 'x' },
    });
  });

  it('explains why malformed messages are skipped', () => {
    const invalid = (text: string) => {
      const msg = parseControlMessage(Buffer.from(text));
      expect(msg.kind).toBe('invalid');
      return (msg as { reason: string }).reason;
    };
    expect(invalid('not json')).toMatch(/^not JSON: /);
    expect(invalid('{"prompt":"cat"')).toMatch(/^not JSON: /);
    // two JSON lines in one segment: one message per segment, so neither is applied
    expect(invalid('{"prompt":"a"}\n{"prompt":"b"}\n')).toMatch(/^not JSON: /);
    expect(invalid('')).toMatch(/^not JSON: /);
    expect(invalid('[1,2]')).toBe('Params must be a dictionary');
    expect(invalid('"text"')).toBe('Params must be a dictionary');
    expect(invalid('null')).toBe('Params must be a dictionary');
    expect(invalid('{"max_framerate":99}')).toBe('max_framerate cannot exceed 60 FPS');
    expect(invalid('{"width":640}')).toBe("Both 'width' and 'height' must be provided together");
    expect(invalid('{"width":0,"height":10}')).toBe('Width and height must be positive integers (received 0x10)');
  });
});

describe('ControlChannel', () => {
  it('applies updates in order, skips keepalives and empty segments, reports malformed messages', async () => {
    const s = setup();
    s.transport.push(URL, '{"keep":"alive"}');
    s.transport.push(URL, '{"prompt":"cat","max_framerate":"30"}');
    s.transport.push(URL, '');
    s.transport.push(URL, 'not json');
    s.transport.push(URL, '[1,2]');
    s.transport.push(URL, '{"max_framerate":0}');
    await s.settled(4);
    s.transport.push(URL, '{"keep":"alive"}');
    s.transport.push(URL, '{"prompt":"dog"}');
    await s.settled(5);

    expect(s.applied).toEqual([{ prompt: 'cat', max_framerate: 30 }, { prompt: 'dog' }]);
    expect(s.stats.get('controlMessages')).toBe(2);
    expect(s.stats.get('controlErrors')).toBe(3);
    expect(s.reports).toHaveLength(3);
    expect(s.reports[0]).toMatch(/^invalid control message: not JSON: /);
    expect(s.reports[1]).toBe('invalid control message: Params must be a dictionary');
    expect(s.reports[2]).toBe('invalid control message: max_framerate must be a positive integer');
    const skipped = s.lines.filter((l) => l['msg'] === 'control message skipped');
    expect(skipped.map((l) => l['reason'])).toEqual(s.reports);
    expect(skipped.every((l) => l['level'] === 'warn')).toBe(true);
    s.abort.abort();
    await s.channel.done;
  });

  it('skips a message larger than maxMessageBytes and applies the next one', async () => {
    const s = setup({ maxMessageBytes: 32 });
    const big = JSON.stringify({ prompt: 'x'.repeat(40) });
    s.transport.push(URL, big);
    s.transport.push(URL, '{"prompt":"small"}');
    await s.settled(2);
    expect(s.reports).toEqual([`control message of ${Buffer.byteLength(big)} bytes exceeds the 32-byte limit`]);
    expect(s.applied).toEqual([{ prompt: 'small' }]);
    s.abort.abort();
    await s.channel.done;
  });

  it('accepts a message of exactly maxMessageBytes', async () => {
    const text = '{"prompt":"abcdefghijklmnopq"}';
    const s = setup({ maxMessageBytes: Buffer.byteLength(text) });
    s.transport.push(URL, text);
    await s.settled(1);
    expect(s.reports).toEqual([]);
    expect(s.applied).toEqual([{ prompt: 'abcdefghijklmnopq' }]);
    s.abort.abort();
    await s.channel.done;
  });

  it('latest wins: while one update is applied, only the newest of those that arrive meanwhile follows', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const s = setup({
      apply: async (p) => {
        if (p['prompt'] === 'first') {
          started();
          await gate;
        }
      },
    });
    s.transport.push(URL, '{"prompt":"first"}');
    await firstStarted;
    s.transport.push(URL, '{"prompt":"second"}');
    s.transport.push(URL, '{"prompt":"third"}');
    s.transport.push(URL, '{"prompt":"fourth"}');
    await s.settled(4);
    expect(s.applied).toEqual([]);
    release();
    await s.transport.until(() => s.applied.length === 2, 'two applied updates');
    await new Promise((r) => setTimeout(r, 10));
    expect(s.applied).toEqual([{ prompt: 'first' }, { prompt: 'fourth' }]);
    expect(s.stats.get('controlMessages')).toBe(4);
    s.abort.abort();
    await s.channel.done;
  });

  it('a failing apply is counted and logged, never thrown, and the next update still applies', async () => {
    const s = setup({
      apply: async (p) => {
        if (p['prompt'] === 'bad') throw new Error('processor refused');
      },
    });
    s.transport.push(URL, '{"prompt":"bad"}');
    await s.transport.until(() => s.lines.some((l) => l['msg'] === 'control params update failed'), 'the failure log line');
    s.transport.push(URL, '{"prompt":"good"}');
    await s.transport.until(() => s.applied.length === 1, 'the good update');
    expect(s.applied).toEqual([{ prompt: 'good' }]);
    expect(s.stats.get('controlMessages')).toBe(2);
    expect(s.stats.get('controlErrors')).toBe(1);
    const failure = s.lines.find((l) => l['msg'] === 'control params update failed')!;
    expect(failure['err']).toMatchObject({ name: 'Error', message: 'processor refused' });
    s.abort.abort();
    await expect(s.channel.done).resolves.toBeUndefined();
  });

  it('re-subscribes when the subscription ends, and keeps applying updates', async () => {
    const s = setup();
    s.transport.push(URL, '{"prompt":"before"}');
    await s.settled(1);
    s.transport.endSubscription(URL);
    await s.transport.until(() => (s.transport.subscriptions.get(URL) ?? 0) >= 2, 'a second subscription');
    s.transport.push(URL, '{"prompt":"after"}');
    await s.settled(2);
    await s.transport.until(() => s.applied.length === 2, 'the update after re-subscribing');
    expect(s.applied).toEqual([{ prompt: 'before' }, { prompt: 'after' }]);
    expect(s.lines.some((l) => l['msg'] === 'control channel ended; re-subscribing')).toBe(true);
    s.abort.abort();
    await s.channel.done;
  });

  it('a vanished channel (subscription throws) is retried with backoff until it returns; the channel never ends on its own', async () => {
    const s = setup();
    s.transport.endSubscription(URL, true);
    await s.transport.until(() => (s.transport.subscriptions.get(URL) ?? 0) >= 4, 'repeated re-subscriptions');
    const failures = s.lines.filter((l) => l['msg'] === 'control channel failed; re-subscribing');
    expect(failures.length).toBeGreaterThanOrEqual(3);
    // attempts are numbered, and the error is in the log line
    expect(failures.slice(0, 3).map((l) => l['attempt'])).toEqual([1, 2, 3]);
    expect(failures[0]!['err']).toMatchObject({ message: '404 stream not found' });
    s.transport.revive(URL);
    s.transport.push(URL, '{"prompt":"back"}');
    await s.transport.until(() => s.applied.length === 1, 'the update after the channel came back');
    expect(s.applied).toEqual([{ prompt: 'back' }]);
    s.abort.abort();
    await s.channel.done;
  });

  it('stops when the signal aborts: done resolves and later messages are not applied', async () => {
    const s = setup();
    s.transport.push(URL, '{"prompt":"one"}');
    await s.settled(1);
    s.abort.abort();
    await expect(s.channel.done).resolves.toBeUndefined();
    const subscriptions = s.transport.subscriptions.get(URL);
    s.transport.push(URL, '{"prompt":"two"}');
    await new Promise((r) => setTimeout(r, 10));
    expect(s.applied).toEqual([{ prompt: 'one' }]);
    expect(s.transport.subscriptions.get(URL)).toBe(subscriptions);
  });
});
