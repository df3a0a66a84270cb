import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { capabilities } from '../../src/native/capabilities';
import { TrickleError } from '../../src/errors';
import { Decoder } from '../../src/media/decoder';
import { Encoder, type EncoderOptions } from '../../src/media/encoder';
import { frameStats } from '../../src/media/frame-stats';
import { ffmpegLumaFrames, ffprobeStreams, ffprobeVideoFrames, fixturePath, patternIndex } from '../helpers/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'trickle-enc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Segment {
  index: number;
  bytes: Buffer;
}

/** Decodes `input` with our Decoder and encodes every frame (and audio, per mode) with an Encoder. */
async function transcode(input: string, options: EncoderOptions, audio: 'frames' | 'packets' | 'none' = 'none'): Promise<{ segments: Segment[]; encoder: Encoder }> {
  const decoder = Decoder.from(input, { device: 'cpu', audio });
  const encoder = new Encoder(options);
  const feeding = (async () => {
    for await (const item of decoder.frames()) {
      if (item.type === 'video') {
        await encoder.encode(item.frame);
        item.frame.close(); // the encoder holds its own reference
      } else if (item.type === 'audio') {
        await encoder.encodeAudio(item.frame);
        item.frame.close();
      } else {
        await encoder.writeAudioPacket(item.packet);
      }
    }
    encoder.end();
  })();
  const segments: Segment[] = [];
  for await (const segment of encoder.segments()) {
    const parts: Buffer[] = [];
    for await (const chunk of segment.chunks()) parts.push(chunk);
    segments.push({ index: segment.index, bytes: Buffer.concat(parts) });
  }
  await feeding;
  return { segments, encoder };
}

function save(name: string, bytes: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

describe('Encoder (H.264 + MPEG-TS segmenter on a native thread)', () => {
  it('round-trips the index pattern: ffmpeg and our decoder see every frame, pts and pixel index', async () => {
    const inputFrames = ffprobeVideoFrames(fixturePath('patternNoAudio'));
    const { segments, encoder } = await transcode(fixturePath('patternNoAudio'), { gopSeconds: 1, audio: 'none' });
    const whole = save('roundtrip.ts', Buffer.concat(segments.map((s) => s.bytes)));
    // ffprobe/ffmpeg as the oracle
    const frames = ffprobeVideoFrames(whole);
    expect(frames).toHaveLength(60);
    expect(frames.map((f) => f.pts)).toEqual(inputFrames.map((f) => f.pts)); // output pts = input pts
    expect(frames.every((f) => f.width === 320 && f.height === 192)).toBe(true);
    const luma = ffmpegLumaFrames(whole, 320, 192);
    expect(luma.map((y) => patternIndex(y, 320, 320, 192))).toEqual([...Array(60).keys()]);
    const [video] = ffprobeStreams(whole);
    expect(video).toMatchObject({ codec_name: 'h264', profile: 'High', has_b_frames: 0 });
    // our decoder on the same bytes
    const ours: number[] = [];
    for await (const item of Decoder.from(readFileSync(whole), { device: 'cpu' }).frames()) {
      if (item.type !== 'video') continue;
      using f = item.frame;
      const [y] = f.planes();
      ours.push(patternIndex(y!.data, y!.stride, y!.width, y!.height));
    }
    expect(ours).toEqual([...Array(60).keys()]);
    const s = encoder.stats();
    expect(s).toMatchObject({ framesIn: 60, framesEncoded: 60, keyframes: 2, segments: 2, retimed: 0, scaled: 0, downloads: 0, encoder: 'libx264' });
    expect(s.bytesOut).toBe(whole.length === 0 ? -1 : readFileSync(whole).length);
    expect(encoder.state).toBe('ended');
  });

  it('cuts keyframe-aligned standalone segments: each starts with PAT, decodes alone, begins with a keyframe', async () => {
    const { segments } = await transcode(fixturePath('pattern'), { gopSeconds: 1, audio: 'none' });
    expect(segments.map((s) => s.index)).toEqual([0, 1, 2]);
    let total = 0;
    for (const seg of segments) {
      expect(seg.bytes.length % 188).toBe(0);
      // PSI first: PAT (PID 0) and the PMT come before the first video PES (the IDR); FFmpeg's
      // muxer also writes an SDT (PID 0x11) ahead of them, which is harmless.
      const seen = new Set<number>();
      let firstVideoPes = -1;
      for (let off = 0; off < seg.bytes.length; off += 188) {
        expect(seg.bytes[off]).toBe(0x47);
        const pid = ((seg.bytes[off + 1]! & 0x1f) << 8) | seg.bytes[off + 2]!;
        const pusi = (seg.bytes[off + 1]! & 0x40) !== 0;
        if (pid === 0x100 && pusi) {
          firstVideoPes = off / 188;
          break;
        }
        seen.add(pid);
      }
      expect(firstVideoPes).toBeGreaterThan(0);
      expect([...seen].sort((a, b) => a - b)).toEqual([0, 0x11, 0x1000]);
      const frames = ffprobeVideoFrames(save(`seg${seg.index}.ts`, seg.bytes));
      expect(frames).toHaveLength(30);
      expect(frames[0]!.key).toBe(true);
      expect(frames.slice(1).some((f) => f.key)).toBe(false);
      const luma = ffmpegLumaFrames(join(dir, `seg${seg.index}.ts`), 320, 192);
      expect(luma.map((y) => patternIndex(y, 320, 320, 192))).toEqual([...Array(30).keys()].map((i) => seg.index * 30 + i));
      total += frames.length;
    }
    expect(total).toBe(90);
  });

  it('passes audio through without re-encoding, from the second segment on', async () => {
    const { segments, encoder } = await transcode(fixturePath('pattern'), { gopSeconds: 1, audio: 'passthrough' }, 'packets');
    const s = encoder.stats();
    expect(s.audioPacketsOut).toBeGreaterThan(80);
    const streams = ffprobeStreams(save('pass1.ts', segments[1]!.bytes));
    expect(streams.map((x) => x.codec_type).sort()).toEqual(['audio', 'video']);
    expect(streams.find((x) => x.codec_type === 'audio')).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 1 });
  });

  it('encodes decoded audio to AAC', async () => {
    const { segments, encoder } = await transcode(fixturePath('pattern'), { gopSeconds: 1, audio: 'aac' }, 'frames');
    expect(encoder.stats().audioPacketsOut).toBeGreaterThan(50);
    const streams = ffprobeStreams(save('aac2.ts', segments[2]!.bytes));
    expect(streams.find((x) => x.codec_type === 'audio')).toMatchObject({ codec_name: 'aac', sample_rate: '48000' });
  });

  it('keeps all of the audio when it starts after the first video frame (no segment without it loses it)', async () => {
    // The decoder delivers the first video frames before the first audio frame, so segment 0 opens
    // without an audio stream; that audio is held and a new segment declaring it starts at once.
    const decodedSamples = ffmpegDecodedAudioSamples(fixturePath('pattern'));
    for (const audio of ['aac', 'passthrough'] as const) {
      const { segments, encoder } = await transcode(fixturePath('pattern'), { gopSeconds: 2, audio }, audio === 'aac' ? 'frames' : 'packets');
      expect(encoder.stats().audioDropped).toBe(0);
      const whole = save(`all-audio-${audio}.ts`, Buffer.concat(segments.map((s) => s.bytes)));
      // every input sample is in the output; AAC adds at most one frame of padding plus its priming
      const outSamples = ffmpegDecodedAudioSamples(whole);
      expect(outSamples).toBeGreaterThanOrEqual(decodedSamples - 1024);
      expect(outSamples).toBeLessThanOrEqual(decodedSamples + 2 * 1024);
    }
  });

  it('encodes decoded audio to Opus when libopus is present', async () => {
    if (!capabilities().ffmpeg.encoders.libopus) return;
    const { segments, encoder } = await transcode(fixturePath('pattern'), { gopSeconds: 1, audio: 'opus' }, 'frames');
    expect(encoder.stats().audioPacketsOut).toBeGreaterThan(50);
    const streams = ffprobeStreams(save('opus2.ts', segments[2]!.bytes));
    expect(streams.find((x) => x.codec_type === 'audio')).toMatchObject({ codec_name: 'opus' });
  });

  it('rescales frames to the configured size with libswscale', async () => {
    const { segments, encoder } = await transcode(fixturePath('patternNoAudio'), { width: 160, height: 96, audio: 'none' });
    const whole = save('scaled.ts', Buffer.concat(segments.map((s) => s.bytes)));
    const frames = ffprobeVideoFrames(whole);
    expect(frames).toHaveLength(60);
    expect(frames.every((f) => f.width === 160 && f.height === 96)).toBe(true);
    expect(ffmpegLumaFrames(whole, 160, 96).map((y) => patternIndex(y, 160, 160, 96))).toEqual([...Array(60).keys()]);
    expect(encoder.stats().scaled).toBe(60);
  });

  it('x264 threads: one for a frame under half a megapixel, one per half megapixel up to the cores otherwise; an explicit count as given', async () => {
    const small = await transcode(fixturePath('patternNoAudio'), { width: 160, height: 96, audio: 'none' });
    expect(small.encoder.stats().threads).toBe(1);
    // 1280x1024 is 2.5 half-megapixels: two threads where two cores are free for this one encoder.
    const large = await transcode(fixturePath('patternNoAudio'), { width: 1280, height: 1024, audio: 'none' });
    expect(large.encoder.stats().threads).toBe(Math.max(1, Math.min(8, cpus().length, 2)));
    const given = await transcode(fixturePath('patternNoAudio'), { width: 160, height: 96, audio: 'none', threads: 3 });
    expect(given.encoder.stats().threads).toBe(3);
    expect(ffprobeVideoFrames(save('threads3.ts', Buffer.concat(given.segments.map((x) => x.bytes))))).toHaveLength(60);
  });

  it('re-times input whose pts jump backwards: output pts strictly increase; the new size is scaled', async () => {
    const { segments, encoder } = await transcode(fixturePath('resolutionSwitch'), { gopSeconds: 2, audio: 'none' });
    const whole = save('retimed.ts', Buffer.concat(segments.map((s) => s.bytes)));
    const pts = ffprobeVideoFrames(whole).map((f) => f.pts);
    expect(pts).toHaveLength(60);
    for (let i = 1; i < pts.length; i++) expect(pts[i]!).toBeGreaterThan(pts[i - 1]!);
    const s = encoder.stats();
    expect(s.retimed).toBeGreaterThanOrEqual(1);
    expect(s.scaled).toBe(30);
    expect([s.width, s.height]).toEqual([320, 240]);
  });

  it('keeps frames alive only while queued; the caller may close right after encode()', async () => {
    const before = frameStats().videoFramesAlive;
    await transcode(fixturePath('patternNoAudio'), { audio: 'none' });
    expect(frameStats().videoFramesAlive).toBe(before);
  });

  it('close() without a consumer drains and resolves; encode after end rejects ERR_CLOSED', async () => {
    // Output nobody reads is backpressure: the encoder waits for a consumer. close() discards it.
    const encoder = new Encoder({ audio: 'none', maxQueue: 16 });
    const source = Decoder.from(fixturePath('patternNoAudio'), { device: 'cpu' });
    let n = 0;
    for await (const item of source.frames()) {
      if (item.type !== 'video') continue;
      await encoder.encode(item.frame);
      item.frame.close();
      if (++n === 10) break;
    }
    await encoder.close();
    expect(encoder.state).toBe('ended');
    expect(encoder.stats().framesEncoded).toBe(10);
    const d = Decoder.from(fixturePath('patternNoAudio'), { device: 'cpu' });
    const first = await d.frames().next();
    if (!first.done && first.value.type === 'video') {
      await expect(encoder.encode(first.value.frame)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      first.value.frame.close();
      await expect(new Encoder({ audio: 'none' }).encode(first.value.frame)).rejects.toMatchObject({ code: 'ERR_FRAME_CLOSED' });
    }
    await d.close();
  });

  it('h264_nvenc without NVENC throws ERR_NVENC_UNAVAILABLE; options are validated in TypeScript', () => {
    if (!capabilities().nvenc.available) {
      let err: unknown;
      try {
        new Encoder({ encoder: 'h264_nvenc' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TrickleError);
      expect((err as TrickleError).code).toBe('ERR_NVENC_UNAVAILABLE');
    }
    expect(() => new Encoder({ width: 320 })).toThrow(TrickleError);
    expect(() => new Encoder({ width: 321, height: 240 })).toThrow('even numbers');
    expect(() => new Encoder({ gopSeconds: 0 })).toThrow('Expected a number from 0.05 to 60 for gopSeconds but received 0');
    expect(() => new Encoder({ encoder: 'x265' as 'libx264' })).toThrow(TrickleError);
  });
});

// keep the CLI oracle honest: ffprobe must exist where these tests run
execFileSync('ffprobe', ['-version']);

/** ffmpeg as an oracle: the number of audio samples (per channel) in the first audio stream. */
function ffmpegDecodedAudioSamples(path: string): number {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:a:0', '-f', 'f32le', '-ac', '1', '-'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return raw.length / 4;
}
