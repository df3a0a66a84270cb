import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { capabilities } from '../../src/native/capabilities';
import { TrickleError } from '../../src/errors';
import { Decoder, type DecodedItem } from '../../src/media/decoder';
import { frameStats } from '../../src/media/frame-stats';
import { FIXTURES, ffprobeVideoFrames, fixturePath, patternIndex } from '../helpers/fixtures';

async function collect(decoder: Decoder): Promise<{ video: Array<{ pts: number | null; width: number; height: number; index: number; format: string }>; audio: Array<{ samples: number; sampleRate: number; channels: number; pts: number | null }>; packets: number }> {
  const video: Array<{ pts: number | null; width: number; height: number; index: number; format: string }> = [];
  const audio: Array<{ samples: number; sampleRate: number; channels: number; pts: number | null }> = [];
  let packets = 0;
  for await (const item of decoder.frames()) {
    if (item.type === 'video') {
      using f = item.frame;
      const [y] = f.planes();
      video.push({ pts: f.pts, width: f.width, height: f.height, format: f.format, index: y ? patternIndex(y.data, y.stride, y.width, y.height) : -1 });
    } else if (item.type === 'audio') {
      using a = item.frame;
      audio.push({ samples: a.samples, sampleRate: a.sampleRate, channels: a.channels, pts: a.pts });
    } else {
      packets++;
    }
  }
  return { video, audio, packets };
}

describe('Decoder (streaming demux + decode on a native thread)', () => {
  it('decodes bytes pushed in small pieces: count, size, pts and pixels match ffprobe and the pattern', async () => {
    const path = fixturePath('pattern');
    const bytes = readFileSync(path);
    const oracle = ffprobeVideoFrames(path);
    const decoder = new Decoder({ device: 'cpu', maxQueue: 2 });
    const feeding = (async () => {
      for (let i = 0; i < bytes.length; i += 1880) await decoder.push(bytes.subarray(i, i + 1880));
      decoder.end();
    })();
    const out = await collect(decoder);
    await feeding;
    expect(oracle).toHaveLength(FIXTURES.pattern.frames);
    expect(out.video).toHaveLength(FIXTURES.pattern.frames);
    expect(out.video.map((f) => f.pts)).toEqual(oracle.map((f) => f.pts));
    expect(out.video.every((f) => f.width === 320 && f.height === 192 && f.format === 'yuv420p')).toBe(true);
    expect(out.video.map((f) => f.index)).toEqual(out.video.map((_, i) => i));
    // 3 s of 48 kHz mono AAC: 1024-sample frames
    expect(out.audio.length).toBeGreaterThanOrEqual(138);
    expect(out.audio.every((a) => a.sampleRate === 48000 && a.channels === 1 && a.samples === 1024)).toBe(true);
    const s = decoder.stats();
    expect(s).toMatchObject({ videoFrames: 90, decodeErrors: 0, videoCodec: 'h264', audioCodec: 'aac', hardware: false, width: 320, height: 192 });
    expect(s.bytesIn).toBe(bytes.length);
    expect(s.pool.live).toBe(0);
    expect(decoder.state).toBe('ended');
  });

  it('decodes from a Buffer, a file path and an async iterable alike', async () => {
    const path = fixturePath('patternNoAudio');
    const bytes = readFileSync(path);
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let i = 0; i < bytes.length; i += 5000) yield bytes.subarray(i, i + 5000);
    }
    for (const source of [bytes, path, pieces()]) {
      const out = await collect(Decoder.from(source, { device: 'cpu' }));
      expect(out.video.map((f) => f.index)).toEqual([...Array(60).keys()]);
      expect(out.audio).toHaveLength(0);
    }
  });

  it('delivers compressed audio packets for passthrough when asked', async () => {
    const out = await collect(Decoder.from(fixturePath('pattern'), { device: 'cpu', audio: 'packets' }));
    expect(out.audio).toHaveLength(0);
    expect(out.packets).toBeGreaterThanOrEqual(138);
    expect(out.video).toHaveLength(90);
  });

  it('holds at most poolSize frames alive while the consumer keeps them (backpressure)', async () => {
    const decoder = Decoder.from(fixturePath('pattern'), { device: 'cpu', poolSize: 3, maxQueue: 1, audio: 'none' });
    const held: DecodedItem[] = [];
    const it = decoder.frames();
    for (let i = 0; i < 3; i++) held.push((await it.next()).value as DecodedItem);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const s = decoder.stats();
    expect(s.videoFrames).toBeLessThanOrEqual(3);
    expect(s.pool.live).toBeLessThanOrEqual(3);
    for (const item of held) if (item.type === 'video') item.frame.close();
    let rest = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      if (r.value.type === 'video') r.value.frame.close();
      rest++;
    }
    expect(rest + 3).toBe(90);
  });

  it('close() mid-stream stops the thread and releases every undelivered frame', async () => {
    const before = frameStats().videoFramesAlive;
    const decoder = Decoder.from(fixturePath('pattern'), { device: 'cpu', maxQueue: 4 });
    const it = decoder.frames();
    const first = await it.next();
    expect(first.done).toBe(false);
    await decoder.close();
    if (!first.done && first.value.type !== 'audioPacket') first.value.frame.close();
    expect(decoder.state).toBe('closed');
    expect(decoder.stats().pool.live).toBe(0);
    expect(frameStats().videoFramesAlive).toBe(before);
    expect((await it.next()).done).toBe(true);
    await expect(decoder.push(Buffer.alloc(10))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('breaking out of the loop closes the decoder', async () => {
    const decoder = Decoder.from(fixturePath('pattern'), { device: 'cpu' });
    for await (const item of decoder.frames()) {
      if (item.type !== 'audioPacket') item.frame.close();
      break;
    }
    await decoder.finished;
    expect(decoder.state).toBe('closed');
    expect(decoder.stats().pool.live).toBe(0);
  });

  it('an aborted signal fails the iteration with ERR_ABORTED', async () => {
    const decoder = Decoder.from(fixturePath('pattern'), { device: 'cpu' });
    const ac = new AbortController();
    const seen: number[] = [];
    const err = await (async () => {
      for await (const item of decoder.frames({ signal: ac.signal })) {
        if (item.type === 'video') seen.push(item.frame.pts ?? -1);
        if (item.type !== 'audioPacket') item.frame.close();
        if (seen.length === 2) ac.abort();
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrickleError);
    expect((err as TrickleError).code).toBe('ERR_ABORTED');
    await decoder.finished;
    expect(decoder.stats().pool.live).toBe(0);
  });

  it('rejects bytes that are not a container with ERR_DEMUX', async () => {
    const garbage = Buffer.alloc(256 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + (i >> 7)) & 0xff;
    const err = await collect(Decoder.from(garbage, { device: 'cpu' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrickleError);
    expect((err as TrickleError).code).toBe('ERR_DEMUX');
  });

  it('follows a resolution switch mid-stream', async () => {
    const decoder = Decoder.from(fixturePath('resolutionSwitch'), { device: 'cpu' });
    const out = await collect(decoder);
    const sizes = out.video.map((f) => `${f.width}x${f.height}`);
    expect(sizes.filter((s) => s === '320x240')).toHaveLength(30);
    expect(sizes.filter((s) => s === '256x144')).toHaveLength(30);
    expect(sizes.indexOf('256x144')).toBe(30);
    expect(decoder.stats().resolutionChanges).toBe(1);
  });

  it('decodes audio-only input (no video stream) without error', async () => {
    const decoder = Decoder.from(fixturePath('audioOnly'), { device: 'cpu' });
    const out = await collect(decoder);
    expect(out.video).toHaveLength(0);
    expect(out.audio.length).toBeGreaterThanOrEqual(46);
    expect(out.audio[0]).toMatchObject({ sampleRate: 48000, channels: 2, samples: 1024 });
    expect(decoder.stats().videoCodec).toBeNull();
  });

  it('decodes HEVC', async () => {
    const out = await collect(Decoder.from(fixturePath('hevc320'), { device: 'cpu' }));
    expect(out.video).toHaveLength(30);
    expect(out.video[0]).toMatchObject({ width: 320, height: 240 });
  });

  it("'auto' falls back to software without an NVIDIA driver; 'cuda:N' then throws ERR_NVDEC_UNAVAILABLE", async () => {
    const caps = capabilities();
    if (caps.nvdec.available) return; // GPU machines: covered by test/gpu
    const decoder = Decoder.from(fixturePath('patternNoAudio'), { device: 'auto' });
    const out = await collect(decoder);
    expect(out.video).toHaveLength(60);
    expect(decoder.stats().hardware).toBe(false);
    expect(decoder.stats().hardwareFallbackReason).toMatch(/./);
    let err: unknown;
    try {
      new Decoder({ device: 'cuda:0' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrickleError);
    expect((err as TrickleError).code).toBe('ERR_NVDEC_UNAVAILABLE');
  });

  it('validates options in TypeScript', () => {
    expect(() => new Decoder({ device: 'gpu' as 'cpu' })).toThrow("Expected 'auto', 'cpu' or 'cuda:N' for device but received \"gpu\"");
    expect(() => new Decoder({ maxQueue: 0 })).toThrow('Expected an integer from 1 to 1024 for maxQueue but received 0');
    expect(() => Decoder.from(42 as unknown as string)).toThrow(TrickleError);
  });
});
