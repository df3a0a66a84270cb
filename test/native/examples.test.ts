/**
 * The example processors and the demo's tint processor on real native frames: the effect is checked
 * in the output pixels (CPU path).
 */
import { describe, expect, it } from 'vitest';

import colourTint from '../../examples/colour-tint';
import DataEmitter from '../../examples/data-emitter';
import passthrough from '../../examples/passthrough';
import grayscale from '../../examples/tensor-grayscale';
import { Tensor } from '../../src/media/tensor';
import { VideoFrame } from '../../src/media/video-frame';
import type { StreamContext } from '../../src/processor/frame-processor';
import { createTintProcessor, tintRgb } from '../../src/processor/samples/tint';
import { silentLogger } from '../../src/logger';

const W = 64;
const H = 48;

async function patternFrame(): Promise<VideoFrame> {
  const rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    rgb[i * 3] = (i * 7) % 256;
    rgb[i * 3 + 1] = (i * 13) % 256;
    rgb[i * 3 + 2] = (i * 29) % 256;
  }
  using t = Tensor.from(rgb, [H, W, 3]);
  return VideoFrame.fromTensor(t, null, { pts: 3000, timeBase: [1, 90000] });
}

async function meanRgb(frame: VideoFrame): Promise<[number, number, number]> {
  using t = await frame.toTensor({ layout: 'nhwc', dtype: 'uint8' });
  const px = t.data as Uint8Array;
  const s = [0, 0, 0];
  for (let i = 0; i < px.length; i += 3) for (let c = 0; c < 3; c++) s[c]! += px[i + c]!;
  const n = px.length / 3;
  return [s[0]! / n, s[1]! / n, s[2]! / n];
}

function ctx(params: Record<string, unknown> = {}) {
  const data: unknown[] = [];
  const events: unknown[] = [];
  const c: StreamContext = {
    streamId: 's',
    params,
    signal: new AbortController().signal,
    publishData: (v) => (data.push(v), true),
    sendEvent: (e) => void events.push(e),
    state: {},
    log: silentLogger,
  };
  return { c, data, events };
}

describe('example processors on native frames', () => {
  it('tint: red, then blue; pts kept', async () => {
    using input = await patternFrame();
    const before = await meanRgb(input);
    expect(Math.max(...before) - Math.min(...before)).toBeLessThan(15);
    for (const proc of [createTintProcessor(), colourTint]) {
      using red = (await proc.processVideo(input, ctx({ tint: 'red', strength: 0.6 }).c))!;
      const r = await meanRgb(red);
      expect(r[0] - Math.max(r[1], r[2])).toBeGreaterThan(100);
      expect(red.pts).toBe(3000);
      expect([red.width, red.height]).toEqual([W, H]);
      using blue = (await proc.processVideo(input, ctx({ tint: 'blue', strength: 0.6 }).c))!;
      const b = await meanRgb(blue);
      expect(b[2] - Math.max(b[0], b[1])).toBeGreaterThan(100);
    }
  });

  it('tintRgb math is exact', () => {
    const px = new Uint8Array([100, 100, 100]);
    tintRgb(px, 'green', 0.5);
    expect([...px]).toEqual([50, 177, 50]); // 100*0.5 + 127.5 → 177 (Uint8Array truncates)
  });

  it('tensor-grayscale makes R = G = B', async () => {
    using input = await patternFrame();
    using out = (await grayscale.processVideo(input, ctx({ contrast: 1 }).c))!;
    const m = await meanRgb(out);
    expect(Math.abs(m[0] - m[1])).toBeLessThan(3);
    expect(Math.abs(m[1] - m[2])).toBeLessThan(3);
  });

  it('data-emitter publishes a brightness line every 12th frame and passes frames through', async () => {
    const proc = new DataEmitter();
    const { c, data } = ctx({});
    await proc.onStreamStart({}, c);
    using input = await patternFrame();
    for (let i = 0; i < 24; i++) expect(await proc.processVideo(input, c)).toBe(input);
    expect(data).toHaveLength(2);
    expect(data[0]).toMatchObject({ frame: 12, pts: 3000, brightness: expect.any(Number) });
  });

  it('passthrough returns the frame', async () => {
    using input = await patternFrame();
    expect(await passthrough.processVideo(input, ctx().c)).toBe(input);
    expect(passthrough.inputSize).toBe('native');
  });
});
