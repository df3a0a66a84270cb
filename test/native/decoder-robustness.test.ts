import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { Decoder } from '../../src/media/decoder';
import { frameStats } from '../../src/media/frame-stats';
import { ffprobeVideoFrames, fixturePath, patternIndex } from '../helpers/fixtures';
import { prng, splitAtKeyframes } from '../helpers/ts-bytes';

interface Outcome {
  indices: number[];
  /** Frame index derived from each frame's pts (30 fps, relative to the fixture's first pts). */
  ptsIndices: number[];
  sizes: string[];
  error: TrickleError | undefined;
  stats: ReturnType<Decoder['stats']>;
}

/** Feeds `pieces` as one continuous byte stream and reads the pattern index of every frame. */
async function run(pieces: Buffer[], options: ConstructorParameters<typeof Decoder>[0] = {}): Promise<Outcome> {
  const decoder = new Decoder({ device: 'cpu', audio: 'none', ...options });
  const feeding = (async () => {
    try {
      for (const p of pieces) await decoder.push(p);
      decoder.end();
    } catch {
      // the decoder failed: the iterator reports it
    }
  })();
  const indices: number[] = [];
  const ptsIndices: number[] = [];
  const sizes: string[] = [];
  let error: TrickleError | undefined;
  try {
    for await (const item of decoder.frames()) {
      if (item.type !== 'video') continue;
      using f = item.frame;
      const [y] = f.planes();
      indices.push(patternIndex(y!.data, y!.stride, y!.width, y!.height));
      ptsIndices.push(Math.round(((f.pts ?? 0) - FIRST_PTS) / 3000) & 0xff);
      sizes.push(`${f.width}x${f.height}`);
    }
  } catch (err) {
    error = err as TrickleError;
  }
  await feeding;
  await decoder.finished;
  return { indices, ptsIndices, sizes, error, stats: decoder.stats() };
}

/** pts of the fixture's first frame, from ffprobe (the oracle). */
const FIRST_PTS = ffprobeVideoFrames(fixturePath('pattern'))[0]!.pts;

const KNOWN_CODES = ['ERR_DEMUX', 'ERR_DECODE', 'ERR_NO_VIDEO_STREAM', 'ERR_DECODER_UNAVAILABLE', 'ERR_UNSUPPORTED_FORMAT'];

describe('Decoder robustness (bad input never crashes; recovery at the next keyframe)', () => {
  const segments = splitAtKeyframes(readFileSync(fixturePath('pattern')));

  it('the pattern fixture splits into three keyframe-aligned segments that decode cleanly (precondition)', async () => {
    expect(segments).toHaveLength(3);
    const clean = await run(segments);
    expect(clean.indices).toEqual([...Array(90).keys()]);
    expect(clean.ptsIndices).toEqual(clean.indices);
  });

  it('random bytes of any size end with ERR_DEMUX or no frames, never a crash', async () => {
    const rand = prng(7);
    for (const size of [1, 187, 188 * 7, 64 * 1024, 1024 * 1024]) {
      const junk = Buffer.alloc(size);
      for (let i = 0; i < size; i++) junk[i] = Math.floor(rand() * 256);
      const out = await run([junk]);
      expect(out.indices).toHaveLength(0);
      if (out.error) {
        expect(out.error).toBeInstanceOf(TrickleError);
        expect(KNOWN_CODES).toContain(out.error.code);
      }
    }
  });

  it('an empty input ends with ERR_DEMUX', async () => {
    const out = await run([]);
    expect(out.error?.code).toBe('ERR_DEMUX');
  });

  it('a truncated middle segment: the first and last segments decode exactly, nothing out of order', async () => {
    const s1 = segments[1]!;
    const out = await run([segments[0]!, s1.subarray(0, Math.floor(s1.length / 2)), segments[2]!]);
    expect(out.error).toBeUndefined();
    expect(out.indices.slice(0, 30)).toEqual([...Array(30).keys()]);
    expect(out.indices.slice(-30)).toEqual([...Array(30).keys()].map((i) => 60 + i));
    for (let i = 1; i < out.indices.length; i++) expect(out.indices[i]!).toBeGreaterThan(out.indices[i - 1]!);
    expect(out.indices).toEqual(out.ptsIndices); // no frame with wrong content is let through
  });

  it('bit flips in the middle segment: decoding resumes exactly at the next keyframe', async () => {
    const rand = prng(42);
    const damaged = Buffer.from(segments[1]!);
    for (let i = 0; i < 60; i++) {
      const p = 188 * 4 + Math.floor(rand() * (damaged.length - 188 * 4));
      if (p % 188 < 4) continue; // keep TS headers: the damage is in the payload (the codec's problem)
      damaged[p] = damaged[p]! ^ (1 << Math.floor(rand() * 8));
    }
    const out = await run([segments[0]!, damaged, segments[2]!]);
    expect(out.error).toBeUndefined();
    expect(out.indices.slice(0, 30)).toEqual([...Array(30).keys()]);
    expect(out.indices.slice(-30)).toEqual([...Array(30).keys()].map((i) => 60 + i));
    expect(out.stats.decodeErrors + out.stats.droppedFrames).toBeGreaterThan(0);
  });

  it('garbage between valid segments is skipped (the demuxer resyncs)', async () => {
    const rand = prng(3);
    const junk = Buffer.alloc(50_000);
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
    const out = await run([segments[0]!, junk, segments[1]!, segments[2]!]);
    expect(out.error).toBeUndefined();
    // the last frames before the junk may be held back: their PES absorbed junk bytes
    expect(out.indices.slice(0, 26)).toEqual([...Array(26).keys()]);
    expect(out.indices.slice(-30)).toEqual([...Array(30).keys()].map((i) => 60 + i));
    // frames after the junk that lost their references are held back until a keyframe
    expect(out.indices).toEqual(out.ptsIndices);
  });

  it('a resolution switch mid-stream yields both sizes, in order', async () => {
    const pieces = splitAtKeyframes(readFileSync(fixturePath('resolutionSwitch')));
    const out = await run(pieces);
    expect(out.error).toBeUndefined();
    expect(out.sizes.slice(0, 30).every((s) => s === '320x240')).toBe(true);
    expect(out.sizes.slice(30).every((s) => s === '256x144')).toBe(true);
    expect(out.sizes).toHaveLength(60);
  });

  it('broken streams do not disturb a healthy decoder running next to them', async () => {
    const rand = prng(11);
    const junk = (): Buffer => {
      const b = Buffer.alloc(200_000);
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
      return b;
    };
    const [healthy, ...broken] = await Promise.all([
      run(segments),
      run([junk()]),
      run([segments[0]!.subarray(0, 5000), junk()]),
      run([junk(), segments[1]!]),
    ]);
    expect(healthy!.indices).toEqual([...Array(90).keys()]);
    expect(healthy!.error).toBeUndefined();
    for (const b of broken) if (b.error) expect(KNOWN_CODES).toContain(b.error.code);
  });

  it('leaves no frame alive behind (all of the above)', () => {
    const s = frameStats();
    expect(s.videoFramesAlive).toBe(0);
    expect(s.audioFramesAlive).toBe(0);
  });
});
