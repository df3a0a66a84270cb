/**
 * AudioFrame.convert: channel layout and sample rate conversion of one frame (libswresample),
 * against a TS reference where the result is exact (copy, duplication, stereo average) and by
 * length and level where it is a resampling.
 */
import { describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { AudioFrame } from '../../src/media/audio-frame';

const tone = (n: number, rate: number, freq = 440, amp = 0.5) => Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));
const rms = (x: Float32Array, from = 0, to = x.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! ** 2;
  return Math.sqrt(s / (to - from));
};
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('AudioFrame.convert', () => {
  it('same layout and rate: an exact copy, a new frame; pts and time base kept', () => {
    const l = tone(1024, 48000);
    const r = tone(1024, 48000, 1000);
    using f = AudioFrame.fromChannels([l, r], { sampleRate: 48000, pts: 4800, timeBase: [1, 48000] });
    using g = f.convert({});
    expect(g).not.toBe(f);
    expect([g.channels, g.sampleRate, g.samples, g.pts, g.timeBase]).toEqual([2, 48000, 1024, 4800, [1, 48000]]);
    expect(maxDiff(g.channelData(0), l)).toBeLessThan(1e-6);
    expect(maxDiff(g.channelData(1), r)).toBeLessThan(1e-6);
  });

  it('mono → stereo duplicates the samples (unity gain)', () => {
    const m = tone(960, 48000);
    using f = AudioFrame.fromChannels([m], { sampleRate: 48000 });
    using g = f.convert({ channels: 2 });
    expect([g.channels, g.sampleRate, g.samples]).toEqual([2, 48000, 960]);
    expect(maxDiff(g.channelData(0), m)).toBeLessThan(1e-6);
    expect(maxDiff(g.channelData(1), m)).toBeLessThan(1e-6);
  });

  it('stereo → mono is the average of the two channels', () => {
    const l = tone(512, 48000, 440);
    const r = tone(512, 48000, 660, 0.3);
    using f = AudioFrame.fromChannels([l, r], { sampleRate: 48000 });
    using g = f.convert({ channels: 1 });
    const reference = l.map((v, i) => (v + r[i]!) / 2);
    expect(g.channels).toBe(1);
    expect(maxDiff(g.channelData(0), reference)).toBeLessThan(1e-5);
  });

  it('44.1 kHz → 48 kHz keeps the length in time and the level; 48 → 44.1 back', () => {
    const src = tone(4410, 44100); // 100 ms
    using f = AudioFrame.fromChannels([src, src], { sampleRate: 44100, pts: 0 });
    using g = f.convert({ sampleRate: 48000 });
    expect([g.channels, g.sampleRate]).toEqual([2, 48000]);
    expect(Math.abs(g.samples - 4800)).toBeLessThanOrEqual(2);
    const level = rms(g.channelData(0), 480, 4320) / rms(src, 441, 3969);
    expect(level).toBeGreaterThan(0.97);
    expect(level).toBeLessThan(1.03);
    using back = g.convert({ sampleRate: 44100 });
    expect(Math.abs(back.samples - 4410)).toBeLessThanOrEqual(4);
  });

  it('6 channels → stereo and → mono: the tone in every output channel, never clipped', () => {
    const t = tone(2048, 48000, 440, 0.9);
    using f = AudioFrame.fromChannels(Array.from({ length: 6 }, () => t), { sampleRate: 48000 });
    for (const channels of [2, 1]) {
      using g = f.convert({ channels, sampleRate: 44100 });
      expect([g.channels, g.sampleRate]).toEqual([channels, 44100]);
      for (let c = 0; c < channels; c++) {
        const d = g.channelData(c);
        expect(rms(d, 100, d.length - 100)).toBeGreaterThan(0.2);
        expect(d.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('refuses bad options and a closed frame', () => {
    const f = AudioFrame.fromChannels([new Float32Array(16)], { sampleRate: 8000 });
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as TrickleError).code;
      }
      return 'no error';
    };
    expect(code(() => f.convert({ channels: 9 }))).toBe('ERR_INVALID_ARG');
    expect(code(() => f.convert({ sampleRate: 0 }))).toBe('ERR_INVALID_ARG');
    expect(code(() => f.convert(null as never))).toBe('ERR_INVALID_ARG');
    f.close();
    expect(code(() => f.convert({}))).toBe('ERR_FRAME_CLOSED');
  });
});
