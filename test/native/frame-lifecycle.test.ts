import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { copyCounters } from '../../src/media/copy-counters';
import { FramePool } from '../../src/media/frame-pool';
import { frameStats } from '../../src/media/frame-stats';
import { Tensor } from '../../src/media/tensor';
import { VideoFrame } from '../../src/media/video-frame';
import { gpuAvailable } from '../helpers/gpu';
import { testPicture } from '../helpers/tensor-reference';

const root = resolve(__dirname, '..', '..');

function rgbTensor(w = 16, h = 8): Tensor {
  return Tensor.from(testPicture(w, h), [1, h, w, 3]);
}

describe('frame ownership: close, dispose, pools', () => {
  it('close() is idempotent, `using` closes, and a closed frame throws ERR_FRAME_CLOSED everywhere', async () => {
    using t = rgbTensor();
    const before = frameStats().videoFramesAlive;
    let escaped: VideoFrame;
    {
      using f = await VideoFrame.fromTensor(t);
      escaped = f;
      expect(frameStats().videoFramesAlive).toBe(before + 1);
    }
    expect(escaped.closed).toBe(true);
    expect(frameStats().videoFramesAlive).toBe(before);
    escaped.close();
    escaped[Symbol.dispose]();
    expect(() => escaped.planes()).toThrow(expect.objectContaining({ code: 'ERR_FRAME_CLOSED' }) as unknown as Error);
    await expect(escaped.toTensor()).rejects.toMatchObject({ code: 'ERR_FRAME_CLOSED' });
    await expect(escaped.download()).rejects.toMatchObject({ code: 'ERR_FRAME_CLOSED' });
    expect(() => escaped.cudaInterop()).toThrow(expect.objectContaining({ code: 'ERR_FRAME_CLOSED' }) as unknown as Error);
    await expect(VideoFrame.fromTensor(t, escaped)).rejects.toMatchObject({ code: 'ERR_FRAME_CLOSED' });
  });

  it('a bounded pool: exhaustion throws ERR_POOL_EXHAUSTED, closing frees a slot, stats return to zero', async () => {
    const pool = new FramePool(2);
    expect(pool.stats()).toEqual({ capacity: 2, live: 0, free: 2, leaked: 0, acquiredTotal: 0 });
    using t = rgbTensor();
    const a = await VideoFrame.fromTensor(t, null, { pool });
    const b = await VideoFrame.fromTensor(t, null, { pool });
    expect(pool.stats()).toMatchObject({ live: 2, free: 0 });
    await expect(VideoFrame.fromTensor(t, null, { pool })).rejects.toMatchObject({ code: 'ERR_POOL_EXHAUSTED' });
    a.close();
    expect(pool.stats()).toMatchObject({ live: 1, free: 1 });
    const c = await VideoFrame.fromTensor(t, null, { pool });
    // a host download shares the pixels and the pool slot: the slot stays held while either lives
    const d = await c.download();
    c.close();
    expect(pool.stats().live).toBe(2);
    expect(Array.from(d.planes()[0]!.data.subarray(0, 8))).toHaveLength(8);
    d.close();
    b.close();
    expect(pool.stats()).toEqual({ capacity: 2, live: 0, free: 2, leaked: 0, acquiredTotal: 3 });
  });

  it('an in-flight job holds the pool slot until it finishes, then the slot returns', async () => {
    const pool = new FramePool(1);
    using big = rgbTensor(640, 360);
    const f = await VideoFrame.fromTensor(big, null, { pool });
    const job = f.toTensor({ dtype: 'uint8' });
    f.close();
    using t = await job;
    expect(t.shape).toEqual([1, 3, 360, 640]);
    expect(pool.stats().live).toBe(0);
  });

  it('CPU frames report ERR_CUDA_UNAVAILABLE for cudaInterop; without a GPU, device ops do too', async () => {
    using t = rgbTensor();
    using f = await VideoFrame.fromTensor(t);
    expect(() => f.cudaInterop()).toThrow(expect.objectContaining({ code: 'ERR_CUDA_UNAVAILABLE' }) as unknown as Error);
    if (!gpuAvailable()) {
      await expect(f.upload(0)).rejects.toMatchObject({ code: 'ERR_CUDA_UNAVAILABLE' });
      await expect(t.toDevice(0)).rejects.toMatchObject({ code: 'ERR_CUDA_UNAVAILABLE' });
    }
  });

  it('copy counters count host copies into and out of JavaScript memory', async () => {
    copyCounters(true);
    using t = rgbTensor(8, 4); // Tensor.from: 1 host copy of 96 bytes
    void t.data; // 1 more
    const c = copyCounters();
    expect(c.hostToHost).toBe(2);
    expect(c.hostToHostBytes).toBe(2 * 8 * 4 * 3);
    expect(c.hostToDevice + c.deviceToHost).toBe(0);
  });

  it('a frame garbage-collected without close() is counted as a leak and released (child process, --expose-gc)', () => {
    const script = `
      const { Tensor, VideoFrame, FramePool, frameStats } = require('./dist/index.js');
      (async () => {
        const pool = new FramePool(4);
        const t = Tensor.from(new Uint8Array(8 * 8 * 3), [1, 8, 8, 3]);
        await (async () => { await VideoFrame.fromTensor(t, null, { pool }); await VideoFrame.fromTensor(t, null, { pool }); })();
        const closed = await VideoFrame.fromTensor(t, null, { pool }); closed.close();
        for (let i = 0; i < 10 && pool.stats().leaked < 2; i++) { global.gc(); await new Promise((r) => setImmediate(r)); }
        console.log(JSON.stringify({ pool: pool.stats(), stats: frameStats() }));
      })();`;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const { pool, stats } = JSON.parse(out.trim().split('\n').pop()!) as {
      pool: { live: number; leaked: number; acquiredTotal: number };
      stats: { videoFramesLeaked: number; videoFramesAlive: number };
    };
    expect(pool).toMatchObject({ live: 0, leaked: 2, acquiredTotal: 3 });
    expect(stats).toMatchObject({ videoFramesLeaked: 2, videoFramesAlive: 0 });
  });
});
