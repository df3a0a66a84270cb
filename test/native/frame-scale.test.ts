/**
 * VideoFrame.scale(): the input resize in YUV (one native pass, no RGB step). The pattern fixture
 * is the oracle: its frame index is drawn in blocks whose positions scale with the picture.
 */
import { describe, expect, it } from 'vitest';

import { Decoder } from '../../src/media/decoder';
import type { VideoFrame } from '../../src/media/video-frame';
import { fixturePath, patternIndex } from '../helpers/fixtures';

async function firstFrames(n: number): Promise<VideoFrame[]> {
  const out: VideoFrame[] = [];
  for await (const item of Decoder.from(fixturePath('patternNoAudio'), { device: 'cpu', audio: 'none', poolSize: n + 2 }).frames()) {
    if (item.type !== 'video') continue;
    if (out.length < n) out.push(item.frame);
    else item.frame.close();
  }
  return out;
}

describe('VideoFrame.scale (YUV resize)', () => {
  it('stretch: a yuv420p frame of the asked size, same timestamp, the picture scaled', async () => {
    const frames = await firstFrames(5);
    for (const [i, f] of frames.entries()) {
      using s = await f.scale(160, 96, { fit: 'stretch' });
      expect([s.width, s.height, s.format, s.location]).toEqual([160, 96, 'yuv420p', 'cpu']);
      expect(s.pts).toBe(f.pts);
      const [y] = s.planes();
      expect(patternIndex(y!.data, y!.stride, y!.width, y!.height)).toBe(i);
      f.close();
    }
  });

  it('crop: covers the target and centre-crops; at scale 1 the result is exactly the centre of the source', async () => {
    const [f] = await firstFrames(1);
    using s = await f!.scale(192, 192); // 320x192 -> the centre 192x192, no scaling
    expect([s.width, s.height]).toEqual([192, 192]);
    const [sy] = s.planes();
    const [fy] = f!.planes();
    for (let row = 0; row < 192; row++) {
      const got = sy!.data.subarray(row * sy!.stride, row * sy!.stride + 192);
      const want = fy!.data.subarray(row * fy!.stride + 64, row * fy!.stride + 64 + 192);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(want)), `row ${row}`).toBe(0);
    }
    f!.close();
  });

  it('rejects odd or out-of-range sizes and unknown fits', async () => {
    const [f] = await firstFrames(1);
    await expect(f!.scale(161, 96)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(f!.scale(0, 96)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(f!.scale(160, 96, { fit: 'letterbox' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    f!.close();
  });
});
