/**
 * A stream whose program changes between segments, as trickle segments do when each is muxed
 * afresh (PMT version 0 every time): the first segment holds video only and a later one adds audio.
 * trickle-rt's own encoder produces exactly that when the first audio arrives after the first video
 * frames. Every video frame is decoded once, in order, and the audio that appears later is decoded.
 */
import { describe, expect, it } from 'vitest';

import { Decoder } from '../../src/media/decoder';
import { Encoder } from '../../src/media/encoder';
import { FIXTURES, fixturePath, patternIndex } from '../helpers/fixtures';

async function reencode(audio: 'aac' | 'opus'): Promise<Buffer> {
  const decoder = Decoder.from(fixturePath('pattern'), { device: 'cpu', audio: 'frames' });
  const encoder = new Encoder({ encoder: 'libx264', audio, gopSeconds: 1 });
  const feeding = (async () => {
    for await (const item of decoder.frames()) {
      if (item.type === 'video') {
        await encoder.encode(item.frame);
        item.frame.close();
      } else if (item.type === 'audio') {
        await encoder.encodeAudio(item.frame);
        item.frame.close();
      }
    }
    encoder.end();
  })();
  const parts: Buffer[] = [];
  for await (const segment of encoder.segments()) for await (const chunk of segment.chunks()) parts.push(Buffer.from(chunk));
  await feeding;
  return Buffer.concat(parts);
}

async function decodeAll(bytes: Buffer): Promise<{ indices: number[]; pts: number[]; audioSamples: number; sampleRate: number }> {
  const indices: number[] = [];
  const pts: number[] = [];
  let audioSamples = 0;
  let sampleRate = 0;
  for await (const item of Decoder.from(bytes, { device: 'cpu', audio: 'frames' }).frames()) {
    if (item.type === 'video') {
      const [y] = item.frame.planes();
      indices.push(patternIndex(y!.data, y!.stride, y!.width, y!.height));
      pts.push(item.frame.pts ?? -1);
      item.frame.close();
    } else if (item.type === 'audio') {
      audioSamples += item.frame.samples;
      sampleRate = item.frame.sampleRate;
      item.frame.close();
    }
  }
  return { indices, pts, audioSamples, sampleRate };
}

describe('decoder: a later segment adds a stream (same PMT version)', () => {
  for (const audio of ['aac', 'opus'] as const) {
    it(`video-only first segment, then video + ${audio}: every frame once, in order, and the audio`, async () => {
      const out = await decodeAll(await reencode(audio));
      expect(out.indices).toEqual([...Array(FIXTURES.pattern.frames).keys()]);
      for (let i = 1; i < out.pts.length; i++) expect(out.pts[i]!, `pts ${i}`).toBeGreaterThan(out.pts[i - 1]!);
      expect(out.sampleRate).toBe(48000);
      expect(out.audioSamples).toBeGreaterThan(48000 * 2);
    });
  }
});
