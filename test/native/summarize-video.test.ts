import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { summarizeVideo } from '../../src/media/summarize-video';
import { ffprobeFrames, FIXTURES, fixturePath } from '../helpers/fixtures';

describe('summarizeVideo (decode of an MPEG-TS Buffer on a native thread)', () => {
  it('decodes the 512x512 clip: frame count, size and first pts match construction and ffprobe', async () => {
    const path = fixturePath('testsrc512');
    const meta = FIXTURES.testsrc512;
    const oracle = ffprobeFrames(path);
    const s = await summarizeVideo(readFileSync(path));
    expect(s.codec).toBe('h264');
    expect(s.frames).toBe(meta.frames);
    expect(s.width).toBe(meta.width);
    expect(s.height).toBe(meta.height);
    expect(s.timeBase).toEqual([1, 90000]);
    expect(s.decodeErrors).toBe(0);
    expect(oracle.count).toBe(meta.frames);
    expect(s.firstPts).toBe(oracle.firstPts);
  });

  it('decodes video next to an audio stream', async () => {
    const s = await summarizeVideo(readFileSync(fixturePath('testsrc320Audio')));
    expect([s.frames, s.width, s.height]).toEqual([30, 320, 240]);
  });

  it('rejects bytes that are not a container with ERR_DEMUX', async () => {
    const garbage = Buffer.alloc(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) & 0xff;
    const err = await summarizeVideo(garbage).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrickleError);
    expect(['ERR_DEMUX', 'ERR_NO_VIDEO_STREAM']).toContain((err as TrickleError).code);
  });

  it('decodes what it can of a truncated clip', async () => {
    const full = readFileSync(fixturePath('testsrc512'));
    const s = await summarizeVideo(full.subarray(0, Math.floor(full.length / 2)));
    expect(s.frames).toBeGreaterThan(0);
    expect(s.frames).toBeLessThan(60);
  });

  it('validates its argument in TypeScript', async () => {
    await expect(summarizeVideo('clip.ts' as unknown as Buffer)).rejects.toThrow(
      'Expected a Buffer for data but received "clip.ts"',
    );
  });
});
