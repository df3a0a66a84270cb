import { describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { Tensor } from '../../src/media/tensor';
import { VideoFrame, type ToTensorOptions } from '../../src/media/video-frame';
import {
  type Fmt,
  halfBits,
  halfToNumber,
  nhwcToNchw,
  refFromRgb,
  refToTensor,
  testPicture,
} from '../helpers/tensor-reference';

async function frameOf(w: number, h: number, format: Fmt, seed = 1): Promise<{ frame: VideoFrame; rgb: Uint8Array }> {
  const rgb = testPicture(w, h, seed);
  using t = Tensor.from(rgb, [1, h, w, 3]);
  const frame = await VideoFrame.fromTensor(t, null, { format, pts: 3003, timeBase: [1, 90000] });
  return { frame, rgb };
}

function planesOf(frame: VideoFrame) {
  return frame.planes().map((p) => ({ data: p.data, stride: p.stride }));
}

const FORMATS: Fmt[] = ['yuv420p', 'nv12', 'rgb24', 'rgba'];

describe('VideoFrame.fromTensor (CPU) against the TypeScript reference', () => {
  for (const format of FORMATS) {
    it(`RGB uint8 NHWC and NCHW -> ${format}: planes exact`, async () => {
      const w = 34;
      const h = 22;
      const rgb = testPicture(w, h, 7);
      const expected = refFromRgb(rgb, w, h, format);
      using a = Tensor.from(rgb, [1, h, w, 3]);
      using b = Tensor.from(Uint8Array.from(nhwcToNchw(rgb, w, h)), [3, h, w]);
      for (const t of [a, b]) {
        using f = await VideoFrame.fromTensor(t, null, { format });
        expect([f.width, f.height, f.format, f.location]).toEqual([w, h, format, 'cpu']);
        const planes = f.planes();
        expect(planes.length).toBe(expected.length);
        planes.forEach((p, i) => expect(Buffer.from(p.data).equals(Buffer.from(expected[i]!))).toBe(true));
      }
    });
  }

  it('float32 and float16 tensors in 0..1 convert with round-half-up to bytes', async () => {
    const w = 4;
    const h = 2;
    const bytes = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
    const f32 = Float32Array.from(bytes, (v) => v / 255);
    const f16 = Uint16Array.from(bytes, (v) => halfBits(v / 255));
    using t32 = Tensor.from(f32, [h, w, 3]);
    using t16 = Tensor.from(f16, [h, w, 3]);
    using a = await VideoFrame.fromTensor(t32, null, { format: 'rgb24' });
    using b = await VideoFrame.fromTensor(t16, null, { format: 'rgb24' });
    expect(Array.from(a.planes()[0]!.data)).toEqual(Array.from(bytes));
    // half precision: 1/255 steps survive (spacing of halves below 1 is <= 2^-11)
    expect(Array.from(b.planes()[0]!.data)).toEqual(Array.from(bytes));
  });

  it('takes pts, time base and key-frame flag from `like`', async () => {
    const { frame: like } = await frameOf(8, 8, 'yuv420p');
    using l = like;
    using t = Tensor.from(testPicture(16, 8), [1, 8, 16, 3]);
    using f = await VideoFrame.fromTensor(t, l);
    expect([f.pts, f.timeBase, f.width, f.height, f.format]).toEqual([3003, [1, 90000], 16, 8, 'yuv420p']);
  });

  it('rejects odd sizes for 4:2:0, ambiguous shapes and non-RGB tensors', async () => {
    using odd = Tensor.from(new Uint8Array(3 * 3 * 3), [3, 3, 3]);
    await expect(VideoFrame.fromTensor(odd, null, { layout: 'nchw' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(VideoFrame.fromTensor(odd)).rejects.toThrow(/ambiguous/);
    using gray = Tensor.from(new Uint8Array(16), [1, 1, 4, 4]);
    await expect(VideoFrame.fromTensor(gray)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    using ok = Tensor.from(new Uint8Array(3 * 3 * 3), [3, 3, 3]);
    using rgb = await VideoFrame.fromTensor(ok, null, { layout: 'nchw', format: 'rgb24' });
    expect([rgb.width, rgb.height]).toEqual([3, 3]);
  });
});

describe('frame.toTensor (CPU) against the TypeScript reference', () => {
  it('identity: an rgb24 frame to uint8 NHWC/NCHW gives the bytes back', async () => {
    const { frame, rgb } = await frameOf(20, 10, 'rgb24');
    using f = frame;
    using nhwc = await f.toTensor({ layout: 'nhwc', dtype: 'uint8' });
    expect(nhwc.shape).toEqual([1, 10, 20, 3]);
    expect(Array.from(nhwc.data)).toEqual(Array.from(rgb));
    using nchw = await f.toTensor({ dtype: 'uint8' });
    expect(nchw.shape).toEqual([1, 3, 10, 20]);
    expect(Array.from(nchw.data)).toEqual(nhwcToNchw(rgb, 20, 10));
  });

  const cases: Array<[string, ToTensorOptions & { size: [number, number] }]> = [
    ['same size', { size: [48, 32] }],
    ['downscale stretch', { size: [20, 18], fit: 'stretch' }],
    ['upscale stretch', { size: [70, 45], fit: 'stretch' }],
    ['crop to square', { size: [24, 24], fit: 'crop' }],
    ['crop to tall', { size: [10, 30], fit: 'crop' }],
    ['letterbox to square', { size: [40, 40], fit: 'letterbox', pad: [114, 114, 114] }],
    ['letterbox to wide', { size: [64, 20], fit: 'letterbox' }],
  ];
  for (const format of FORMATS) {
    for (const [name, geo] of cases) {
      it(`${format} 48x32, ${name}: uint8/float32/float16, nchw/nhwc exact`, async () => {
        const { frame } = await frameOf(48, 32, format, 3);
        using f = frame;
        const planes = planesOf(f);
        for (const layout of ['nchw', 'nhwc'] as const) {
          for (const dtype of ['uint8', 'float32', 'float16'] as const) {
            const norm = dtype === 'uint8' ? {} : { mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] };
            using t = await f.toTensor({ ...geo, layout, dtype, ...norm });
            const [w, h] = geo.size;
            expect(t.shape).toEqual(layout === 'nchw' ? [1, 3, h, w] : [1, h, w, 3]);
            expect(t.dtype).toBe(dtype);
            const ref = refToTensor(format, planes, 48, 32, {
              layout,
              dtype,
              width: w,
              height: h,
              fit: geo.fit ?? 'stretch',
              ...norm,
              ...(geo.pad ? { pad: geo.pad as [number, number, number] } : {}),
            });
            const got = Array.from(t.data);
            // Exact for every dtype: integer pipeline, float32 ops correctly rounded on both
            // sides, float16 round-to-nearest-even (stated tolerance: 0 ulp).
            let mismatches = 0;
            for (let i = 0; i < ref.length; i++) if (got[i] !== ref[i]) mismatches++;
            expect(mismatches).toBe(0);
          }
        }
      });
    }
  }

  it('float32 without mean/std is v/255; single-number mean/std broadcast', async () => {
    const { frame, rgb } = await frameOf(6, 4, 'rgb24');
    using f = frame;
    using a = await f.toTensor({ layout: 'nhwc' });
    expect(Array.from(a.data)).toEqual(Array.from(rgb, (v) => Math.fround(v / 255)));
    using b = await f.toTensor({ layout: 'nhwc', mean: 0.5, std: 0.5 });
    expect(Array.from(b.data)).toEqual(Array.from(rgb, (v) => Math.fround(Math.fround(Math.fround(v / 255) - 0.5) / 0.5)));
    using c = await f.toTensor({ layout: 'nhwc', dtype: 'float16' });
    const halves = Array.from(c.data as Uint16Array, halfToNumber);
    halves.forEach((v, i) => expect(Math.abs(v - rgb[i]! / 255)).toBeLessThanOrEqual(2 ** -12));
  });

  it('letterbox pads with the pad colour outside the content', async () => {
    const { frame } = await frameOf(40, 20, 'rgb24');
    using f = frame;
    using t = await f.toTensor({ size: [20, 20], fit: 'letterbox', layout: 'nhwc', dtype: 'uint8', pad: [1, 2, 3] });
    const d = t.data;
    // content is 20x10 centred: rows 0..4 and 15..19 are padding
    for (const y of [0, 4, 15, 19]) expect(Array.from(d.subarray((y * 20 + 7) * 3, (y * 20 + 7) * 3 + 3))).toEqual([1, 2, 3]);
    expect(Array.from(d.subarray((10 * 20 + 7) * 3, (10 * 20 + 7) * 3 + 3))).not.toEqual([1, 2, 3]);
  });

  it('fromTensor -> toTensor round trip matches the reference and stays close to the source', async () => {
    const w = 32;
    const h = 16;
    // 2x2-constant blocks: chroma subsampling loses nothing, only YUV quantisation remains
    const rgb = testPicture(w / 2, h / 2, 11);
    const up = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) up[(y * w + x) * 3 + c] = rgb[((y >> 1) * (w / 2) + (x >> 1)) * 3 + c]!;
    for (const format of ['yuv420p', 'nv12'] as const) {
      using t = Tensor.from(up, [1, h, w, 3]);
      using f = await VideoFrame.fromTensor(t, null, { format });
      using back = await f.toTensor({ layout: 'nhwc', dtype: 'uint8' });
      const planes = refFromRgb(up, w, h, format).map((data, i) => ({ data, stride: i === 0 || format === 'nv12' ? w : w / 2 }));
      expect(Array.from(back.data)).toEqual(refToTensor(format, planes, w, h, { layout: 'nhwc', dtype: 'uint8', width: w, height: h, fit: 'stretch' }));
      let maxErr = 0;
      back.data.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - up[i]!))));
      expect(maxErr).toBeLessThanOrEqual(4);
    }
  });

  it('large frames run on a worker thread and keep the frame alive while in flight', async () => {
    const { frame } = await frameOf(640, 360, 'yuv420p');
    const planes = planesOf(frame);
    const pending = frame.toTensor({ size: [320, 180], dtype: 'uint8', layout: 'nhwc' });
    frame.close(); // drops only the JS reference: the job holds its own
    using t = await pending;
    const ref = refToTensor('yuv420p', planes, 640, 360, { layout: 'nhwc', dtype: 'uint8', width: 320, height: 180, fit: 'stretch' });
    const got = t.data;
    let mismatches = 0;
    for (let i = 0; i < ref.length; i++) if (got[i] !== ref[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('validates options in TypeScript', async () => {
    const { frame } = await frameOf(8, 8, 'rgb24');
    using f = frame;
    await expect(f.toTensor({ dtype: 'uint8', mean: [0.5, 0.5, 0.5] })).rejects.toThrow(/mean\/std/);
    await expect(f.toTensor({ size: [0, 4] })).rejects.toThrow('Expected an integer from 1 to 16384 for size.width but received 0');
    await expect(f.toTensor({ fit: 'zoom' as 'crop' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(f.toTensor({ std: [1, 0, 1] })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    using t = await f.toTensor({ size: { width: 4, height: 2 } });
    expect(t.shape).toEqual([1, 3, 2, 4]);
  });
});

describe('Tensor', () => {
  it('Tensor.from keeps shape, dtype and data; data is a copy', () => {
    const src = Float32Array.from([1, 2, 3, 4, 5, 6]);
    using t = Tensor.from(src, [2, 3]);
    expect([t.shape, t.dtype, t.location, t.device]).toEqual([[2, 3], 'float32', 'cpu', -1]);
    const d = t.data as Float32Array;
    expect(Array.from(d)).toEqual([1, 2, 3, 4, 5, 6]);
    d[0] = 99;
    expect((t.data as Float32Array)[0]).toBe(1);
    expect(() => Tensor.from(src, [4, 2])).toThrow(/data.length/);
  });

  it('close is idempotent and a closed tensor throws ERR_CLOSED', async () => {
    const t = Tensor.from(new Uint8Array(3), [3]);
    t.close();
    t.close();
    expect(t.closed).toBe(true);
    expect(() => t.data).toThrow(TrickleError);
    expect(() => t.data).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }) as unknown as Error);
    await expect(VideoFrame.fromTensor(t)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('the reference float16 conversion agrees with known values', () => {
    expect(halfBits(1)).toBe(0x3c00);
    expect(halfBits(65504)).toBe(0x7bff);
    expect(halfBits(65520)).toBe(0x7c00);
    expect(halfBits(2 ** -24)).toBe(1);
    expect(halfBits(-2)).toBe(0xc000);
    expect(halfBits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(halfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });
});
