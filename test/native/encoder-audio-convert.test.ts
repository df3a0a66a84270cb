/**
 * The encoder converts AudioFrames of another channel layout or sample rate to its output's (the
 * first frame's) with libswresample. Each case encodes 2 s of video with a synthetic tone whose
 * frames change format, decodes the output with our Decoder, and checks the audio: its format,
 * duration, level, and for mono → stereo that both channels carry the same signal at unity gain.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { capabilities } from '../../src/native/capabilities';
import { AudioFrame } from '../../src/media/audio-frame';
import { Decoder } from '../../src/media/decoder';
import { Encoder } from '../../src/media/encoder';
import { fixturePath } from '../helpers/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'trickle-audio-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AMPLITUDE = 0.5;
const FREQ = 440;
const SAMPLES = 1024;

type Format = { channels: number; rate: number };

/** The tone at time t in every channel: what a TS reference would produce for any layout. */
function toneFrame(fmt: Format, startSeconds: number): AudioFrame {
  const ch = Float32Array.from({ length: SAMPLES }, (_, i) => AMPLITUDE * Math.sin(2 * Math.PI * FREQ * (startSeconds + i / fmt.rate)));
  return AudioFrame.fromChannels(
    Array.from({ length: fmt.channels }, () => ch.slice()),
    { sampleRate: fmt.rate, pts: Math.round(startSeconds * 90000), timeBase: [1, 90000] },
  );
}

/** Encodes the 2 s pattern with a tone whose i-th audio frame has format `formatAt(i)`; returns the decoded output audio. */
async function encodeWithTone(name: string, formatAt: (i: number) => Format, audio: 'aac' | 'opus' = 'aac') {
  const decoder = Decoder.from(fixturePath('patternNoAudio'), { device: 'cpu', audio: 'none' });
  const encoder = new Encoder({ gopSeconds: 1, audio });
  let audioTime = 0;
  let audioIndex = 0;
  const inputSeconds: number[] = [];
  const feeding = (async () => {
    for await (const item of decoder.frames()) {
      if (item.type !== 'video') continue;
      const t = ((item.frame.pts ?? 0) * item.frame.timeBase[0]) / item.frame.timeBase[1];
      while (audioTime < t + 1 / 30) {
        const fmt = formatAt(audioIndex++);
        const a = toneFrame(fmt, audioTime);
        await encoder.encodeAudio(a);
        a.close();
        inputSeconds.push(SAMPLES / fmt.rate);
        audioTime += SAMPLES / fmt.rate;
      }
      await encoder.encode(item.frame);
      item.frame.close();
    }
    encoder.end();
  })();
  const parts: Buffer[] = [];
  for await (const segment of encoder.segments()) for await (const chunk of segment.chunks()) parts.push(chunk);
  await feeding;
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, Buffer.concat(parts));

  const out = Decoder.from(file, { device: 'cpu', audio: 'frames', video: false });
  const channels: number[][] = [];
  let rate = 0;
  let count = 0;
  for await (const item of out.frames()) {
    if (item.type !== 'audio') continue;
    const f = item.frame;
    rate = f.sampleRate;
    count = f.channels;
    for (let c = 0; c < f.channels; c++) (channels[c] ??= []).push(...f.channelData(c));
    f.close();
  }
  return { rate, channels: count, data: channels, inputSeconds: inputSeconds.reduce((a, b) => a + b, 0), stats: encoder.stats() };
}

const rms = (x: ArrayLike<number>, from = 0, to = x.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / Math.max(1, to - from));
};
const TONE_RMS = AMPLITUDE / Math.SQRT2;

describe('Encoder audio conversion (libswresample)', () => {
  it('same layout and rate: nothing is converted; the output keeps the input rate exactly', async () => {
    const r = await encodeWithTone('unchanged', () => ({ channels: 2, rate: 48000 }));
    expect(r.stats.audioConverted).toBe(0);
    expect([r.rate, r.channels]).toEqual([48000, 2]);
    const seconds = r.data[0]!.length / r.rate;
    expect(Math.abs(seconds - r.inputSeconds)).toBeLessThan(2048 / 48000); // AAC priming/padding
    expect(rms(r.data[0]!, 4800) / TONE_RMS).toBeGreaterThan(0.9);
  });

  it('mono frames into a stereo output are duplicated at unity gain (both channels the same signal)', async () => {
    // First frame stereo: the output is stereo; every later frame is mono.
    const r = await encodeWithTone('mono-to-stereo', (i) => ({ channels: i === 0 ? 2 : 1, rate: 48000 }));
    expect(r.stats.audioConverted).toBeGreaterThan(50);
    expect([r.rate, r.channels]).toEqual([48000, 2]);
    const [l, rr] = [r.data[0]!, r.data[1]!];
    const from = 9600; // past the first frames
    expect(rms(l, from) / TONE_RMS).toBeGreaterThan(0.9);
    expect(rms(l, from) / TONE_RMS).toBeLessThan(1.1);
    const diff = l.slice(from).map((v, i) => v - (rr[from + i] as number));
    expect(rms(diff) / TONE_RMS).toBeLessThan(0.05); // the TS reference: right = left
    expect(Math.abs(l.length / r.rate - r.inputSeconds)).toBeLessThan(2048 / 48000);
  });

  it('44.1 kHz frames into a 48 kHz output keep their duration and level', async () => {
    const r = await encodeWithTone('resample', (i) => ({ channels: 2, rate: i === 0 ? 48000 : 44100 }));
    expect(r.stats.audioConverted).toBeGreaterThan(50);
    expect([r.rate, r.channels]).toEqual([48000, 2]);
    expect(Math.abs(r.data[0]!.length / r.rate - r.inputSeconds)).toBeLessThan(3072 / 48000);
    const level = rms(r.data[0]!, 9600, r.data[0]!.length - 4800) / TONE_RMS;
    expect(level).toBeGreaterThan(0.9);
    expect(level).toBeLessThan(1.1);
  });

  it('the output follows the first frame: 44.1 kHz mono in, later 6-channel 48 kHz frames are downmixed and resampled', async () => {
    const r = await encodeWithTone('six-to-mono', (i) => (i === 0 ? { channels: 1, rate: 44100 } : { channels: 6, rate: 48000 }));
    expect(r.stats.audioConverted).toBeGreaterThan(50);
    expect([r.rate, r.channels]).toEqual([44100, 1]);
    expect(Math.abs(r.data[0]!.length / r.rate - r.inputSeconds)).toBeLessThan(3072 / 44100);
    // 5.1 → mono mixes the same tone from every channel, normalised: never silence, never clipped
    // (peaks stay under full scale; AAC and the resampler's filter overshoot a little at the switch).
    const level = rms(r.data[0]!, 8820, r.data[0]!.length - 4410) / TONE_RMS;
    expect(level).toBeGreaterThan(0.3);
    expect(level).toBeLessThan(1.1);
    expect(r.data[0]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeLessThan(1);
  });

  it('a stereo output takes 6-channel frames: both output channels carry the tone', async () => {
    const r = await encodeWithTone('six-to-stereo', (i) => ({ channels: i === 0 ? 2 : 6, rate: 48000 }));
    expect([r.rate, r.channels]).toEqual([48000, 2]);
    for (const c of [0, 1]) expect(rms(r.data[c]!, 9600, r.data[c]!.length - 4800) / TONE_RMS).toBeGreaterThan(0.3);
  });

  it.skipIf(!capabilities().ffmpeg.encoders.libopus)('Opus: 44.1 kHz input (a rate Opus does not take) is resampled to 48 kHz', async () => {
    const r = await encodeWithTone('opus-44k', () => ({ channels: 2, rate: 44100 }), 'opus');
    expect(r.stats.audioConverted).toBeGreaterThan(50);
    expect([r.rate, r.channels]).toEqual([48000, 2]);
    expect(Math.abs(r.data[0]!.length / r.rate - r.inputSeconds)).toBeLessThan(0.1); // Opus pre-skip
    expect(rms(r.data[0]!, 9600, r.data[0]!.length - 4800) / TONE_RMS).toBeGreaterThan(0.8);
  });
});

