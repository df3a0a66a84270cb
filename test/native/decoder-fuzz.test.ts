import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { Decoder } from '../../src/media/decoder';
import { frameStats } from '../../src/media/frame-stats';
import { fixturePath } from '../helpers/fixtures';
import { mutate, prng, splitAtKeyframes, type Mutation } from '../helpers/ts-bytes';

/**
 * Fuzz: thousands of mutated trickle segments (bit flips, overwrites, truncation, dropped TS
 * packets, inserted junk, zeroed ranges, duplicated ranges, pure noise) fed as continuous streams.
 * Each stream ends with two intact segments, so after any damage the decoder must be back on its
 * feet: it decodes the last intact segment's frames. Never a crash, never an untyped error, never a
 * leaked frame. Bounded: small 64x64 segments, fixed seed, fixed count (reproducible).
 */
const STREAMS = Number(process.env['TRICKLE_FUZZ_STREAMS'] ?? 60);
const SEGMENTS_PER_STREAM = 40;
const SEED = Number(process.env['TRICKLE_FUZZ_SEED'] ?? 20261121);

const KNOWN_CODES = new Set(['ERR_DEMUX', 'ERR_DECODE', 'ERR_NO_VIDEO_STREAM', 'ERR_DECODER_UNAVAILABLE', 'ERR_UNSUPPORTED_FORMAT', 'ERR_OUT_OF_MEMORY']);

describe('Decoder fuzz (mutated MPEG-TS segments)', () => {
  it(`survives ${STREAMS * SEGMENTS_PER_STREAM} mutated segments and recovers on intact ones`, async () => {
    const segments = splitAtKeyframes(readFileSync(fixturePath('tiny')));
    expect(segments.length).toBe(12); // 6 s, keyframe every 5 frames at 10 fps
    const framesPerSegment = 5;
    const rand = prng(SEED);
    const kinds = new Map<Mutation, number>();
    let mutated = 0;
    let recovered = 0;
    let failedCleanly = 0;
    const errors = new Map<string, number>();
    const baseline = frameStats();

    for (let s = 0; s < STREAMS; s++) {
      const pieces: Buffer[] = [segments[0]!]; // a clean start: the fuzz targets the steady state
      for (let i = 0; i < SEGMENTS_PER_STREAM; i++) {
        const seg = segments[1 + Math.floor(rand() * (segments.length - 1))]!;
        const m = mutate(seg, rand);
        kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
        pieces.push(m.bytes);
        mutated++;
      }
      // two intact segments at the end: the first re-synchronises, the second must decode fully
      pieces.push(segments[1]!, segments[2]!);
      const decoder = new Decoder({ device: 'cpu', audio: 'none', maxQueue: 8, poolSize: 8, threads: 1 });
      const feeding = (async () => {
        try {
          for (const p of pieces) await decoder.push(p);
          decoder.end();
        } catch {
          // reported by the iterator
        }
      })();
      const pts: number[] = [];
      try {
        for await (const item of decoder.frames()) {
          if (item.type !== 'video') continue;
          using f = item.frame;
          // a mutated SPS may legitimately describe another size; it must still be a sane one
          expect(f.width).toBeGreaterThan(0);
          expect(f.height).toBeGreaterThan(0);
          expect(f.width * f.height).toBeLessThanOrEqual(8192 * 8192);
          pts.push(f.pts ?? -1);
        }
      } catch (err) {
        expect(err).toBeInstanceOf(TrickleError);
        const code = (err as TrickleError).code;
        expect(KNOWN_CODES.has(code)).toBe(true);
        errors.set(code, (errors.get(code) ?? 0) + 1);
        failedCleanly++;
      }
      await feeding;
      await decoder.finished;
      expect(decoder.stats().pool.live).toBe(0);
      // Recovered: the last intact segment's frames (pts of segment 2) are among the last outputs.
      // (Damage can leave the decoder with a deeper reorder buffer or a late error, so a frame or
      // two of it may come out late or be held back: "at least 4 of 5 within the last 10".)
      const seg2Start = 126000 + 2 * framesPerSegment * 9000; // ffmpeg TS starts at 1.4 s; 10 fps = 9000 ticks
      const tail = new Set(pts.slice(-10));
      const found = [...Array(framesPerSegment).keys()].filter((i) => tail.has(seg2Start + i * 9000)).length;
      if (found >= framesPerSegment - 1) recovered++;
    }

    const after = frameStats();
    expect(after.videoFramesAlive).toBe(baseline.videoFramesAlive);
    expect(mutated).toBe(STREAMS * SEGMENTS_PER_STREAM);
    expect(kinds.size).toBe(8);
    // A stream may end in a typed error (damage the demuxer cannot get past); the others must have
    // recovered on the intact tail.
    expect(recovered + failedCleanly).toBe(STREAMS);
    expect(recovered).toBeGreaterThanOrEqual(STREAMS * 0.9);
    console.log(`fuzz: ${mutated} mutated segments in ${STREAMS} streams; recovered ${recovered}, typed errors ${JSON.stringify(Object.fromEntries(errors))}`);
  }, 120_000);
});
