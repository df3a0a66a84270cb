/**
 * The decoder's input backlog bound (live MPEG-TS path): when the oldest video frame not yet decoded
 * waited longer than `maxBacklogMs`, the queued video is skipped up to the newest queued keyframe
 * (or, with none queued and after 4 times the bound, up to the next keyframe that arrives); audio is
 * kept; what comes out decodes cleanly from that keyframe. The input is the `pattern` fixture (90 frames at 30 fps, a
 * keyframe every 30, each frame's index drawn in its pixels, AAC audio). The tests leave the
 * decoder's output unread for longer than the bound, so what was queued then ages past it, and push
 * the rest while reading: which frames are skipped follows from what was queued, not from the
 * machine's speed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Decoder, type DecodedItem } from '../../src/media/decoder';
import { Encoder } from '../../src/media/encoder';
import type { VideoFrame } from '../../src/media/video-frame';
import { ffprobeFrames, fixturePath, patternIndex } from '../helpers/fixtures';
import { pesStarts } from '../helpers/ts-bytes';

/**
 * The bound, and how long the tests leave the decoder's output unread (so that what is queued ages
 * past the bound). Input pushed while the output is read is decoded within a small part of the
 * bound, even on a loaded machine: which frames are skipped follows from what was queued.
 */
const BOUND_MS = 1000;
const PAUSE_MS = 1500;
/** Past the bound times this, with no keyframe queued, the queued video is dropped. */
const DROP_ALL_FACTOR = 4;
/** Room for the whole fixture in the decoder's buffers (nothing waits on backpressure). */
const ROOM = 64 * 1024 * 1024;

function indexOf(frame: VideoFrame): number {
  const [y] = frame.planes();
  return patternIndex(y!.data, y!.stride, y!.width, y!.height);
}

interface Collected {
  video: number[];
  keyFlags: boolean[];
  audio: number;
}

/** Drains `decoder`, reading each video frame's index; `onVideo` may keep a frame (it then closes it). */
async function collect(decoder: Decoder, onVideo?: (frame: VideoFrame) => Promise<void>): Promise<Collected> {
  const out: Collected = { video: [], keyFlags: [], audio: 0 };
  for await (const item of decoder.frames() as AsyncIterable<DecodedItem>) {
    if (item.type === 'video') {
      const frame = item.frame;
      out.video.push(indexOf(frame));
      out.keyFlags.push(frame.keyFrame);
      if (onVideo) await onVideo(frame);
      frame.close();
    } else if (item.type === 'audio') {
      out.audio++;
      item.frame.close();
    }
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads a decoder's output on demand, noting each video frame's index and audio frames. */
class Reader {
  readonly video: number[] = [];
  readonly keyFlags: boolean[] = [];
  audio = 0;
  readonly #it: AsyncIterator<DecodedItem>;
  constructor(
    decoder: Decoder,
    private readonly onVideo?: (frame: VideoFrame) => Promise<void>,
  ) {
    this.#it = decoder.frames()[Symbol.asyncIterator]();
  }
  /** Reads one item; false at the end. */
  async step(): Promise<boolean> {
    const r = await this.#it.next();
    if (r.done) return false;
    const item = r.value;
    if (item.type === 'video') {
      this.video.push(indexOf(item.frame));
      this.keyFlags.push(item.frame.keyFrame);
      if (this.onVideo) await this.onVideo(item.frame);
      item.frame.close();
    } else if (item.type === 'audio') {
      this.audio++;
      item.frame.close();
    }
    return true;
  }
  async untilVideo(index: number): Promise<void> {
    while (!this.video.includes(index)) {
      if (!(await this.step())) throw new Error(`the decoder ended before frame ${index}`);
    }
  }
  async toEnd(): Promise<void> {
    while (await this.step());
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

describe('Decoder: input backlog bound', () => {
  it('off by default: a backlog of the whole input is decoded in full', async () => {
    const bytes = readFileSync(fixturePath('pattern'));
    const decoder = new Decoder({ device: 'cpu', maxBufferedBytes: ROOM });
    const done = collect(decoder);
    await decoder.push(bytes);
    decoder.end();
    const out = await done;
    expect(out.video).toEqual(range(0, 90));
    expect(decoder.stats().backlogSkippedFrames).toBe(0);
    expect(decoder.stats().backlogSkips).toBe(0);
  });

  it('skips a backlog to the newest queued keyframe, counts it, keeps all audio; the rest decodes and re-encodes cleanly', async () => {
    const path = fixturePath('pattern');
    const bytes = readFileSync(path);
    const starts = pesStarts(bytes, 0x100);
    expect(starts.length).toBe(90);
    // Reference: the same input without the bound (all audio frames).
    const reference = await collect(Decoder.from(path, { device: 'cpu' }));
    expect(reference.video.length).toBe(90);

    const dir = mkdtempSync(join(tmpdir(), 'trickle-backlog-'));
    try {
      const decoder = new Decoder({ device: 'cpu', maxBufferedBytes: ROOM, maxBacklogMs: BOUND_MS });
      const encoder = new Encoder({ encoder: 'libx264', audio: 'none', fps: 30 });
      const segments: Buffer[] = [];
      const writing = (async () => {
        for await (const segment of encoder.segments()) {
          const parts: Buffer[] = [];
          for await (const chunk of segment.chunks()) parts.push(Buffer.from(chunk));
          segments.push(Buffer.concat(parts));
        }
      })();
      const reader = new Reader(decoder, (frame) => encoder.encode(frame));
      // Frames 0–60 at once, and nobody reads for longer than the bound: the decoder hands out a
      // few, waits for the reader, and by then the rest has aged past the bound.
      await decoder.push(bytes.subarray(0, starts[61]));
      await sleep(PAUSE_MS);
      await reader.untilVideo(60);
      // The rest arrives now, fresh, and is read at once.
      await decoder.push(bytes.subarray(starts[61]));
      decoder.end();
      await reader.toEnd();
      encoder.end();
      await writing;

      // Keyframes at 0, 30, 60: what was queued before the newest one (60) is skipped.
      const early = reader.video.slice(0, reader.video.indexOf(60));
      expect(early).toEqual(range(0, early.length));
      expect(early.length).toBeLessThan(30);
      expect(reader.video.slice(early.length)).toEqual(range(60, 90));
      expect(reader.keyFlags[early.length]).toBe(true);
      const s = decoder.stats();
      expect(s.backlogSkippedFrames).toBe(60 - early.length);
      expect(s.backlogSkips).toBe(1);
      expect(s.decodeErrors).toBe(0);
      expect(s.videoFrames).toBe(reader.video.length);
      // Audio is never skipped.
      expect(reader.audio).toBe(reference.audio);

      // What was encoded from the frames handed out is a valid stream (an independent decoder).
      const file = join(dir, 'out.ts');
      writeFileSync(file, Buffer.concat(segments));
      expect(ffprobeFrames(file).count).toBe(reader.video.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('with no keyframe queued, a backlog older than the bound but under 4 times it is decoded in full', async () => {
    const bytes = readFileSync(fixturePath('pattern'));
    const starts = pesStarts(bytes, 0x100);
    const decoder = new Decoder({ device: 'cpu', maxBufferedBytes: ROOM, maxBacklogMs: BOUND_MS });
    const reader = new Reader(decoder);
    await decoder.push(bytes.subarray(0, starts[25]));
    await sleep(PAUSE_MS); // past the bound, well under 4 times it
    decoder.end();
    await reader.toEnd();
    expect(reader.video).toEqual(range(0, 25));
    expect(decoder.stats().backlogSkippedFrames).toBe(0);
  });

  it('with no keyframe queued, past 4 times the bound, drops what is queued and what follows up to the next keyframe', async () => {
    const bytes = readFileSync(fixturePath('pattern'));
    const starts = pesStarts(bytes, 0x100);
    const decoder = new Decoder({ device: 'cpu', maxBufferedBytes: ROOM, maxBacklogMs: BOUND_MS });
    const reader = new Reader(decoder);
    // Frames 0–19 at once, read only after 4 times the bound: no keyframe is queued behind the ones
    // handed out, so the queued video is dropped and decoding waits for the next keyframe (30).
    await decoder.push(bytes.subarray(0, starts[20]));
    await sleep(BOUND_MS * DROP_ALL_FACTOR + 500);
    await reader.untilVideo(0);
    for (let i = 0; i < 500 && decoder.stats().backlogSkips === 0; i++) await sleep(10);
    expect(decoder.stats().backlogSkips).toBe(1);
    await decoder.push(bytes.subarray(starts[20]));
    decoder.end();
    await reader.toEnd();
    const early = reader.video.slice(0, reader.video.indexOf(30));
    expect(early).toEqual(range(0, early.length));
    expect(reader.video.slice(early.length)).toEqual(range(30, 90));
    const s = decoder.stats();
    expect(s.backlogSkippedFrames).toBe(30 - early.length);
    expect(s.backlogSkips).toBe(1);
    expect(s.decodeErrors).toBe(0);
    expect(reader.audio).toBeGreaterThan(0);
  }, 30_000);

  it('rejects a negative or non-numeric bound', () => {
    expect(() => new Decoder({ device: 'cpu', maxBacklogMs: -1 })).toThrow(/maxBacklogMs/);
    expect(() => new Decoder({ device: 'cpu', maxBacklogMs: Number.NaN })).toThrow(/maxBacklogMs/);
  });
});

describe('Decoder: thread count', () => {
  it('states the decoder threads it opened with; an explicit count is kept', async () => {
    const path = fixturePath('patternNoAudio');
    const explicit = Decoder.from(path, { device: 'cpu', threads: 3 });
    for await (const item of explicit.frames()) if (item.type === 'video') item.frame.close();
    expect(explicit.stats().threads).toBe(3);
    const auto = Decoder.from(path, { device: 'cpu' });
    for await (const item of auto.frames()) if (item.type === 'video') item.frame.close();
    expect(auto.stats().threads).toBeGreaterThanOrEqual(1);
    expect(auto.stats().threads).toBeLessThanOrEqual(4);
  });
});
