/**
 * Colour of the tensor ops on real decoded frames (CPU path): full-range (yuvj420p) and BT.709
 * sources are converted with their own range and matrix, bit-exact against the TypeScript reference
 * (test/helpers/tensor-reference.ts, coefficients derived from Kr/Kb there), and formats the tensor
 * ops cannot take end the stream at its start with ERR_UNSUPPORTED_FORMAT. The same frames through
 * NVDEC and the CUDA kernels are compared with these in test/gpu/first-run.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { Decoder } from '../../src/index';
import { FIXTURES, type FixtureName, fixturePath } from '../helpers/fixtures';
import { type YuvColor, refToTensor } from '../helpers/tensor-reference';

interface Checked {
  format: string;
  equal: Record<YuvColor, boolean>;
  frames: number;
}

/** Decodes `name` on the CPU and compares toTensor of its first frames with every colour variant. */
async function compareColours(name: FixtureName, size?: { width: number; height: number }): Promise<Checked> {
  const fx = FIXTURES[name];
  const width = size?.width ?? fx.width;
  const height = size?.height ?? fx.height;
  const colours: YuvColor[] = ['bt601-limited', 'bt709-limited', 'bt601-full', 'bt709-full'];
  const equal = Object.fromEntries(colours.map((c) => [c, true])) as Record<YuvColor, boolean>;
  let format = '';
  let frames = 0;
  for await (const item of Decoder.from(fixturePath(name), { device: 'cpu', audio: 'none' }).frames()) {
    if (item.type !== 'video') continue;
    using f = item.frame;
    if (frames >= 3) continue;
    frames++;
    format = f.format;
    const planes = f.planes();
    using t = await f.toTensor({ dtype: 'uint8', layout: 'nhwc', size: [width, height] });
    const got = Array.from(t.data as Uint8Array);
    for (const c of colours) {
      const ref = refToTensor('yuv420p', planes, fx.width, fx.height, { layout: 'nhwc', dtype: 'uint8', width, height, fit: 'stretch', color: c });
      if (ref.length !== got.length || ref.some((v, i) => v !== got[i])) equal[c] = false;
    }
  }
  return { format, equal, frames };
}

describe('toTensor colour: the frame says its matrix and range', () => {
  it('a full-range (yuvj420p) stream converts as BT.601 full range, bit-exact, not as limited range', async () => {
    const r = await compareColours('fullRange');
    expect(r.frames).toBe(3);
    expect(r.format).toBe('yuvj420p');
    expect(r.equal).toEqual({ 'bt601-limited': false, 'bt709-limited': false, 'bt601-full': true, 'bt709-full': false });
  });

  it('a BT.709-tagged stream converts with the BT.709 matrix, bit-exact (also when resized)', async () => {
    const same = await compareColours('bt709');
    expect(same.format).toBe('yuv420p');
    expect(same.equal).toEqual({ 'bt601-limited': false, 'bt709-limited': true, 'bt601-full': false, 'bt709-full': false });
    const resized = await compareColours('bt709', { width: 96, height: 64 });
    expect(resized.equal['bt709-limited']).toBe(true);
    expect(resized.equal['bt601-limited']).toBe(false);
  });

  it('an untagged stream stays BT.601 limited range', async () => {
    const r = await compareColours('testsrc320Audio');
    expect(r.equal['bt601-limited']).toBe(true);
    expect(r.equal['bt709-limited']).toBe(false);
  });
});

describe('pixel formats the tensor ops cannot take are refused where the stream starts', () => {
  for (const [name, what] of [
    ['hevcMain10', /^the video is 10-bit 4:2:0 \(yuv420p10le\)/],
    ['h264Yuv444', /^the video is 4:4:4 \(yuv444p\)/],
  ] as const) {
    it(`${name}: ERR_UNSUPPORTED_FORMAT before any frame is handed out`, async () => {
      let frames = 0;
      const run = (async () => {
        for await (const item of Decoder.from(fixturePath(name), { device: 'cpu', audio: 'none' }).frames()) {
          if (item.type === 'video') {
            frames++;
            item.frame.close();
          }
        }
      })();
      const err = await run.then(
        () => null,
        (e: unknown) => e as { code?: string; message?: string },
      );
      expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED_FORMAT' });
      expect(err!.message).toMatch(what);
      expect(frames).toBe(0);
    });
  }
});
