/**
 * The pipeline glue against a fake media backend (frames are plain objects; "bytes" are lines of
 * pts values), so that ordering, dropping, closing and end-of-stream are checked exactly.
 */
import { describe, expect, it } from 'vitest';

import { createProcessor } from '../../src/processor/create-processor';
import { createMediaPipeline, type MediaBackend, type PipelineDecodedItem } from '../../src/stream/media-pipeline';
import { createStreamSession } from '../../src/stream/stream-session';
import { validateParams, type StreamParams } from '../../src/params';
import { MemoryTransport } from '../helpers/memory-transport';
import { ErrorCodes, TrickleError } from '../../src/errors';

class FakeFrame {
  closes = 0;
  constructor(
    readonly width: number,
    readonly height: number,
    readonly pts: number,
    readonly value: number,
    readonly timeBase: [number, number] = [1, 1000],
  ) {}
  close(): void {
    this.closes += 1;
  }
}

/** The frame rate the fake decoder reports (0: unknown). */
let inputFrameRate = 0;

/**
 * Injected failures: the decoder fails (natively, or as bad input) on reading the line with that
 * pts; the encoder fails on the frame with that value. Each fires once.
 */
interface Faults {
  decoder?: Map<number, string>;
  encoder?: Map<number, string>;
}

function fakeBackend(faults: Faults = {}) {
  const all: FakeFrame[] = [];
  const encoders: Array<{ width: number; height: number; fps: number; bitrate: number | 'quality' | null; values: number[] }> = [];
  const decoderOptions: Array<{ maxBacklogMs: number }> = [];
  let decodersMade = 0;
  const backend: MediaBackend<FakeFrame, FakeFrame> = {
    createDecoder(options) {
      decodersMade += 1;
      decoderOptions.push({ maxBacklogMs: options.maxBacklogMs });
      // A line `skip,N` stands for N input frames the decoder skipped for its backlog bound.
      let skipped = 0;
      let buf = '';
      const items: FakeFrame[] = [];
      let ended = false;
      let failure: TrickleError | undefined;
      let wake: (() => void) | undefined;
      return {
        async push(data) {
          if (failure) throw failure;
          buf += Buffer.from(data).toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          for (const l of lines) {
            if (l.startsWith('skip,')) {
              skipped += Number(l.slice(5));
              continue;
            }
            const [w, h, pts] = l.split(',').map(Number);
            const code = faults.decoder?.get(pts!);
            if (code) {
              faults.decoder!.delete(pts!);
              failure = new TrickleError(code as never, `injected ${code} at pts ${pts}`);
              wake?.();
              throw failure;
            }
            const f = new FakeFrame(w!, h!, pts!, pts!);
            all.push(f);
            items.push(f);
          }
          wake?.();
        },
        end() {
          ended = true;
          wake?.();
        },
        async *frames(): AsyncGenerator<PipelineDecodedItem<FakeFrame, FakeFrame>> {
          for (;;) {
            const f = items.shift();
            if (f) {
              yield { type: 'video', frame: f };
              continue;
            }
            if (failure) throw failure;
            if (ended) return;
            await new Promise<void>((r) => (wake = r));
          }
        },
        async close() {
          ended = true;
          for (const f of items.splice(0)) f.close();
          wake?.();
        },
        stats: () => ({ decodeErrors: 0, frameRate: inputFrameRate, backlogSkippedFrames: skipped }),
      };
    },
    createEncoder({ width, height, fps, bitrate }) {
      const enc = { width, height, fps, bitrate, values: [] as number[] };
      encoders.push(enc);
      let pending: number[] = [];
      const segs: Buffer[] = [];
      let ended = false;
      let failure: TrickleError | undefined;
      let wake: (() => void) | undefined;
      return {
        async encode(f) {
          if (failure) throw failure;
          const code = faults.encoder?.get(f.value);
          if (code) {
            faults.encoder!.delete(f.value);
            failure = new TrickleError(code as never, `injected ${code} at frame ${f.value}`);
            wake?.();
            throw failure;
          }
          enc.values.push(f.value);
          pending.push(f.value);
          if (pending.length === 5) {
            segs.push(Buffer.from(pending.join(',')));
            pending = [];
            wake?.();
          }
        },
        async encodeAudio() {},
        async writeAudioPacket() {},
        end() {
          if (pending.length) segs.push(Buffer.from(pending.join(',')));
          ended = true;
          wake?.();
        },
        async *segments() {
          let index = 0;
          for (;;) {
            const s = segs.shift();
            if (s) {
              yield { index: index++, chunks: async function* () { yield s; } };
              continue;
            }
            if (failure) throw failure;
            if (ended) return;
            await new Promise<void>((r) => (wake = r));
          }
        },
        destroy() {
          ended = true;
          wake?.();
        },
      };
    },
    async resize(frame, width, height) {
      const f = new FakeFrame(width, height, frame.pts, frame.value);
      all.push(f);
      return f;
    },
  };
  return { backend, all, encoders, decoderOptions, decodersMade: () => decodersMade };
}

const IN = 'http://t/s';
const OUT = 'http://t/s-out';
const EV = 'http://t/s-events';
const fast = { heartbeatMs: 1000, statusMs: 1000, inputStallMs: 5000, drainMs: 2000, retryInitialMs: 5, retryMaxMs: 20 };

function run(
  hooks: Parameters<typeof createProcessor<FakeFrame, FakeFrame>>[0],
  params: StreamParams,
  timings = fast,
  queueSize = 1000,
  maxQueueAgeMs = 3_600_000,
  maxInputBacklogMs?: number,
  faults: Faults = {},
  restarts?: { limit?: number; windowMs?: number },
) {
  const transport = new MemoryTransport();
  const fb = fakeBackend(faults);
  const session = createStreamSession({
    request: { gateway_request_id: 's', subscribe_url: IN, publish_url: OUT, events_url: EV, params },
    processor: createProcessor(hooks),
    timings,
    transport,
    media: createMediaPipeline(fb.backend, { queueSize, maxQueueAgeMs, ...(maxInputBacklogMs !== undefined ? { maxInputBacklogMs } : {}), ...(restarts ? { restarts } : {}) }),
  });
  const out = () => (transport.published.get(OUT) ?? []).flatMap((b) => b.toString().split(',').map(Number));
  const eventTypes = () => (transport.json(EV) as Array<{ event: { type: string } }>).map((e) => e.event.type);
  return { transport, session, ...fb, out, eventTypes };
}

const frames = (n: number, fpsMs: number, w = 512, h = 512, from = 0) =>
  Array.from({ length: n }, (_, i) => `${w},${h},${from + Math.round(i * fpsMs)}\n`).join('');

describe('media pipeline glue (fake backend)', () => {
  it('frames flow in order through the processor to output segments; input EOS → output DELETE; all frames closed once', async () => {
    const { transport, session, all, out, encoders, eventTypes } = run({ video: (f) => new FakeFrame(f.width, f.height, f.pts, f.value + 1) }, { max_framerate: 60 });
    session.start();
    transport.push(IN, frames(12, 1000 / 30));
    transport.endSubscription(IN);
    const end = await session.done;
    expect(end).toEqual({ reason: 'input_ended' });
    expect(out()).toEqual(Array.from({ length: 12 }, (_, i) => Math.round((i * 1000) / 30) + 1));
    expect(transport.deleted.has(OUT)).toBe(true);
    expect(encoders[0]).toMatchObject({ width: 512, height: 512 });
    expect(all.filter((f) => f.closes !== 1)).toEqual([]);
    // every frame's time per stage is recorded
    const stages = session.stats.snapshot().stagesMs;
    for (const name of ['queue', 'processor', 'encoderSubmit'] as const) {
      expect(stages[name].count, name).toBe(12);
      expect(stages[name].p50, name).toBeGreaterThanOrEqual(0);
    }
    expect(stages.resize.count).toBe(0); // input already 512x512
    expect(stages.outputWrite.count).toBeGreaterThan(0);
    const s = session.stats.snapshot();
    expect(s).toMatchObject({ framesIn: 12, framesOut: 12, framesGated: 0, processorErrors: 0, segmentsOut: 3 });
    expect(s.latencyMs.count).toBe(12);
    expect(eventTypes()).toEqual(expect.arrayContaining(['receive_first_ingest_segment', 'send_first_processed_segment', 'stream_stopped']));
  });

  it('max_framerate gates on media time and can change live', async () => {
    const { transport, session, out } = run({}, { max_framerate: 10 });
    session.start();
    transport.push(IN, frames(30, 1000 / 30)); // 1 s at 30 fps
    await transport.until(() => session.stats.get('framesIn') === 30, 'decoded');
    await session.updateParams({ max_framerate: 30 }, 'http');
    transport.push(IN, frames(30, 1000 / 30, 512, 512, 1000));
    transport.endSubscription(IN);
    await session.done;
    const s = session.stats.snapshot();
    expect(s.framesGated).toBeGreaterThanOrEqual(19);
    expect(s.framesGated).toBeLessThanOrEqual(21);
    expect(out().filter((v) => v >= 1000)).toHaveLength(30);
  });

  it('a throwing processor drops only that frame; null drops; the stream goes on', async () => {
    let n = 0;
    const { transport, session, out, all } = run(
      {
        video: (f) => {
          n += 1;
          if (n === 3) throw new Error('boom');
          if (n === 5) return null;
          return f;
        },
      },
      {},
    );
    session.start();
    transport.push(IN, frames(8, 1000 / 24));
    transport.endSubscription(IN);
    await session.done;
    expect(out()).toHaveLength(6);
    expect(session.stats.snapshot()).toMatchObject({ processorErrors: 1, framesNulled: 1, framesOut: 6 });
    expect(all.filter((f) => f.closes !== 1)).toEqual([]);
    const errors = (transport.json(EV) as Array<{ event: Record<string, unknown> }>).filter((e) => e.event['type'] === 'error');
    expect(String(errors[0]!.event['message'])).toBe('processVideo failed: boom');
  });

  it('input is resized to params width×height unless the processor asks for native size; detect_out_resolution', async () => {
    const seen: string[] = [];
    const a = run({ video: (f) => (seen.push(`${f.width}x${f.height}`), new FakeFrame(f.width * 2, f.height * 2, f.pts, f.value)) }, { width: 64, height: 32 });
    a.session.start();
    a.transport.push(IN, frames(2, 50, 640, 360));
    a.transport.endSubscription(IN);
    await a.session.done;
    expect(seen).toEqual(['64x32', '64x32']);
    expect(a.encoders[0]).toMatchObject({ width: 128, height: 64 }); // from the first processed frame
    expect(a.all.filter((f) => f.closes !== 1)).toEqual([]);

    const seenNative: string[] = [];
    const b = run({ inputSize: 'native', video: (f) => (seenNative.push(`${f.width}x${f.height}`), f) }, { width: 64, height: 32, detect_out_resolution: false });
    b.session.start();
    b.transport.push(IN, frames(1, 50, 640, 360));
    b.transport.endSubscription(IN);
    await b.session.done;
    expect(seenNative).toEqual(['640x360']);
    expect(b.encoders[0]).toMatchObject({ width: 64, height: 32 });
  });

  it('the encoder gets the real frame rate (the input\'s, capped by max_framerate) and the stream\'s bitrate', async () => {
    const cases: Array<[number, StreamParams, number, number | 'quality' | null]> = [
      [24, { max_framerate: 30 }, 24, null], // a 24 fps input is not declared as 30
      [60, { max_framerate: 30, bitrate: 1_500_000 }, 30, 1_500_000],
      [0, { bitrate: 'quality' }, 24, 'quality'], // input rate unknown: max_framerate (default 24)
    ];
    for (const [input, params, fps, bitrate] of cases) {
      inputFrameRate = input;
      const r = run({}, validateParams(params));
      r.session.start();
      r.transport.push(IN, frames(2, 1000 / 60));
      r.transport.endSubscription(IN);
      await r.session.done;
      expect(r.encoders[0]).toMatchObject({ fps, bitrate });
    }
    inputFrameRate = 0;
  });

  it('an input segment cut short is decoded as far as it went and counted; the stream goes on with the next', async () => {
    const { transport, session, out } = run({}, { max_framerate: 60 });
    session.start();
    transport.push(IN, frames(3, 20));
    transport.pushCut(IN, frames(2, 20, 512, 512, 60));
    transport.push(IN, frames(3, 20, 512, 512, 100));
    transport.endSubscription(IN);
    expect(await session.done).toEqual({ reason: 'input_ended' });
    expect(out()).toHaveLength(8);
    expect(session.stats.get('segmentsCut')).toBe(1);
  });

  it('a stalling input ends the stream as input_stalled and closes the output', async () => {
    const { transport, session, out } = run({}, {}, { ...fast, inputStallMs: 60 });
    session.start();
    transport.push(IN, frames(3, 50));
    const end = await session.done;
    expect(end.reason).toBe('input_stalled');
    expect(out()).toHaveLength(3);
    expect(session.stats.get('inputStalls')).toBe(1);
    expect(transport.deleted.has(OUT)).toBe(true);
  });

  it('a slow processor gets the latest frames: the queue drops the oldest and closes them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: number[] = [];
    const { transport, session, all } = run(
      {
        video: async (f) => {
          seen.push(f.value);
          if (seen.length === 1) await gate;
          return f;
        },
      },
      { max_framerate: 60 },
      fast,
      2,
    );
    session.start();
    transport.push(IN, frames(1, 40));
    await transport.until(() => seen.length === 1, 'first frame in the processor');
    transport.push(IN, frames(10, 40, 512, 512, 40));
    await transport.until(() => session.stats.get('framesIn') === 11, 'all decoded');
    release();
    transport.endSubscription(IN);
    await session.done;
    expect(seen).toEqual([0, 360, 400]); // the busy processor then sees only the two newest
    expect(session.stats.get('framesDropped')).toBe(8);
    expect(all.filter((f) => f.closes !== 1)).toEqual([]);
  });

  it('frames that waited longer than the age bound are dropped for a newer one, counted and reported', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: number[] = [];
    const { transport, session, all, eventTypes } = run(
      {
        video: async (f) => {
          seen.push(f.value);
          if (seen.length === 1) await gate;
          return f;
        },
      },
      { max_framerate: 60 },
      fast,
      4,
      0, // any wait is too long: only the newest queued frame is processed
    );
    session.start();
    transport.push(IN, frames(1, 40));
    await transport.until(() => seen.length === 1, 'first frame in the processor');
    transport.push(IN, frames(3, 40, 512, 512, 40));
    await transport.until(() => session.stats.get('framesIn') === 4, 'all decoded');
    release();
    transport.endSubscription(IN);
    await session.done;
    expect(seen).toEqual([0, 120]);
    expect(session.stats.get('framesStale')).toBe(2);
    expect(session.stats.get('framesDropped')).toBe(0);
    expect(eventTypes()).toContain('frames_dropped');
    const drop = (transport.json(EV) as Array<{ event: { type: string; reason?: string; count?: number } }>).find((e) => e.event.type === 'frames_dropped');
    expect(drop?.event).toMatchObject({ reason: 'stale', count: 1 });
    expect(all.filter((f) => f.closes !== 1)).toEqual([]);
  });

  it('the decoder gets the input backlog bound (default from max_framerate); its skipped frames are counted and reported', async () => {
    const a = run({}, validateParams({ max_framerate: 10 }));
    a.session.start();
    a.transport.push(IN, frames(2, 100));
    a.transport.push(IN, 'skip,29\n');
    a.transport.push(IN, frames(2, 100, 512, 512, 3000));
    a.transport.endSubscription(IN);
    await a.session.done;
    expect(a.decoderOptions).toEqual([{ maxBacklogMs: 800 }]); // eight frame intervals at 10 fps
    const s = a.session.stats.snapshot();
    expect(s).toMatchObject({ framesSkipped: 29, framesIn: 4, framesOut: 4, framesStale: 0 });
    const drops = (a.transport.json(EV) as Array<{ event: { type: string; reason?: string; count?: number } }>).filter((e) => e.event.type === 'frames_dropped');
    expect(drops.map((d) => d.event)).toEqual([expect.objectContaining({ reason: 'input_backlog', count: 29 })]);

    const b = run({}, validateParams({ max_framerate: 60 }));
    b.session.start();
    b.transport.endSubscription(IN);
    await b.session.done;
    expect(b.decoderOptions).toEqual([{ maxBacklogMs: 300 }]); // at least 300 ms

    const c = run({}, {}, fast, 1000, 3_600_000, 0);
    c.session.start();
    c.transport.endSubscription(IN);
    await c.session.done;
    expect(c.decoderOptions).toEqual([{ maxBacklogMs: 0 }]); // turned off
  });

  it('stop() drains what was decoded and ends the output with DELETE', async () => {
    const { transport, session, out } = run({}, {});
    session.start();
    transport.push(IN, frames(4, 50));
    await transport.until(() => session.stats.get('framesOut') === 4, 'four frames out');
    await session.stop('stopped');
    expect(await session.done).toEqual({ reason: 'stopped' });
    expect(out()).toHaveLength(4);
    expect(transport.deleted.has(OUT)).toBe(true);
  });

  describe('decoder/encoder restarts after a native failure', () => {
    const events = (transport: MemoryTransport) => (transport.json(EV) as Array<{ event: Record<string, unknown> }>).map((e) => e.event);

    it('a decoder that fails natively is replaced; the stream goes on from the next bytes and counts the restart', async () => {
      const { transport, session, out, all, decodersMade } = run({}, { max_framerate: 60 }, fast, 1000, 3_600_000, undefined, { decoder: new Map([[160, ErrorCodes.ERR_NATIVE]]) });
      session.start();
      transport.push(IN, frames(4, 40)); // 0..120
      await transport.until(() => session.stats.get('framesIn') === 4, 'first segment decoded');
      // Fails at 160. The chunk that met the failure is lost; the segment's next chunk (the memory
      // transport delivers each segment in two) goes to the new decoder, which resyncs at its next line.
      transport.push(IN, frames(2, 40, 512, 512, 160));
      transport.push(IN, frames(4, 40, 512, 512, 240)); // 240..360, into the new decoder
      transport.endSubscription(IN);
      expect(await session.done).toEqual({ reason: 'input_ended' });
      expect(out()).toEqual([0, 40, 80, 120, 200, 240, 280, 320, 360]);
      expect(decodersMade()).toBe(2);
      expect(session.stats.get('restarts')).toBe(1);
      expect(all.filter((f) => f.closes !== 1)).toEqual([]);
      const ev = events(transport);
      expect(ev.filter((e) => e['type'] === 'restart')).toEqual([
        expect.objectContaining({ component: 'decoder', code: 'ERR_NATIVE', restart_count: 1, error: 'injected ERR_NATIVE at pts 160', restarts_limit: 3 }),
      ]);
      const last = ev.filter((e) => e['type'] === 'status').at(-1)!;
      expect(last).toMatchObject({
        state: 'OFFLINE',
        restart_count: 1,
        last_error: 'decoder failed: injected ERR_NATIVE at pts 160',
        inference_status: { restart_count: 1, last_error: 'decoder failed: injected ERR_NATIVE at pts 160' },
      });
      expect(last['last_restart_time']).toEqual(expect.any(Number));
      expect((last['inference_status'] as Record<string, unknown>)['last_restart_time']).toBe(last['last_restart_time']);
    });

    it('an encoder that fails natively is replaced with the same settings; the failed frame goes to the new one', async () => {
      const { transport, session, out, encoders, all } = run({}, { max_framerate: 60 }, fast, 1000, 3_600_000, undefined, { encoder: new Map([[120, ErrorCodes.ERR_OUT_OF_MEMORY]]) });
      session.start();
      transport.push(IN, frames(10, 40)); // 0..360
      transport.endSubscription(IN);
      expect(await session.done).toEqual({ reason: 'input_ended' });
      expect(encoders).toHaveLength(2);
      expect(encoders[1]).toMatchObject({ width: encoders[0]!.width, height: encoders[0]!.height, fps: encoders[0]!.fps, bitrate: encoders[0]!.bitrate });
      // What the failed encoder held (0, 40, 80: not yet a segment) is lost with it; from 120 on all goes out.
      expect(encoders[0]!.values).toEqual([0, 40, 80]);
      expect(out()).toEqual([120, 160, 200, 240, 280, 320, 360]);
      expect(session.stats.get('restarts')).toBe(1);
      expect(session.stats.get('encodeErrors')).toBe(0);
      expect(transport.deleted.has(OUT)).toBe(true);
      expect(all.filter((f) => f.closes !== 1)).toEqual([]);
      expect(events(transport).filter((e) => e['type'] === 'restart')).toEqual([expect.objectContaining({ component: 'encoder', code: 'ERR_OUT_OF_MEMORY', restart_count: 1 })]);
    });

    it('restarts are bounded: past the limit in the window the stream ends with the failure', async () => {
      const faults = { decoder: new Map([[0, ErrorCodes.ERR_NATIVE], [100, ErrorCodes.ERR_CUDA], [200, ErrorCodes.ERR_NATIVE]]) };
      const { transport, session, decodersMade } = run({}, {}, fast, 1000, 3_600_000, undefined, faults, { limit: 2, windowMs: 60_000 });
      session.start();
      transport.push(IN, frames(1, 40, 512, 512, 0));
      transport.push(IN, frames(1, 40, 512, 512, 100));
      transport.push(IN, frames(1, 40, 512, 512, 200));
      transport.push(IN, frames(1, 40, 512, 512, 300));
      const end = await session.done;
      expect(end).toEqual({ reason: 'error', error: 'decode: injected ERR_NATIVE at pts 200 (2 restarts in 60 s already used)' });
      expect(decodersMade()).toBe(3);
      expect(session.stats.get('restarts')).toBe(2);
      const ev = events(transport);
      expect(ev.filter((e) => e['type'] === 'restart').map((e) => e['restart_count'])).toEqual([1, 2]);
      expect(ev.filter((e) => e['type'] === 'status').at(-1)).toMatchObject({ restart_count: 2 });
      expect(transport.deleted.has(OUT)).toBe(true);
    });

    it('the window slides: failures further apart than the window are each restarted', async () => {
      const faults = { decoder: new Map([[0, ErrorCodes.ERR_NATIVE], [100, ErrorCodes.ERR_NATIVE], [200, ErrorCodes.ERR_NATIVE]]) };
      const { transport, session, decodersMade } = run({}, {}, fast, 1000, 3_600_000, undefined, faults, { limit: 1, windowMs: 1 });
      session.start();
      for (const pts of [0, 100, 200]) {
        transport.push(IN, frames(1, 40, 512, 512, pts));
        await transport.until(() => decodersMade() === pts / 100 + 2, `restart after ${pts}`);
        await new Promise((r) => setTimeout(r, 5)); // past the 1 ms window
      }
      transport.push(IN, frames(2, 40, 512, 512, 300));
      transport.endSubscription(IN);
      expect(await session.done).toEqual({ reason: 'input_ended' });
      expect(session.stats.get('restarts')).toBe(3);
      expect(session.stats.get('framesOut')).toBe(2);
    });

    it('bad input (ERR_DECODE) is not restarted: the stream ends with it', async () => {
      const { transport, session, decodersMade } = run({}, {}, fast, 1000, 3_600_000, undefined, { decoder: new Map([[40, ErrorCodes.ERR_DECODE]]) });
      session.start();
      transport.push(IN, frames(3, 40));
      const end = await session.done;
      expect(end).toMatchObject({ reason: 'error' });
      expect((end as { error: string }).error).toContain('injected ERR_DECODE at pts 40');
      expect(decodersMade()).toBe(1);
      expect(session.stats.get('restarts')).toBe(0);
      expect(events(transport).filter((e) => e['type'] === 'restart')).toEqual([]);
    });
  });
});
