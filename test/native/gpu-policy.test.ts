/**
 * The decisions of the GPU paths (native/common/gpu_policy.h, native/frame/color_spec.h), exercised
 * without a GPU through the addon's `gpuPolicy` export. test/gpu/first-run.test.ts confirms on a GPU
 * that the native code applies them.
 */
import { describe, expect, it } from 'vitest';

import { native } from '../../src/native/addon';

const policy = () => native().gpuPolicy;

const goodFacts = {
  driverLoaded: true,
  driverError: '',
  deviceCount: 2,
  nvdecAvailable: true,
  nvdecReason: '',
  kernelsUsable: true,
  kernelsReason: '',
};

describe('gpuPolicy: CUDA primary context (one owner, flags FFmpeg accepts)', () => {
  it('sets CU_CTX_SCHED_BLOCKING_SYNC on an inactive context, uses a compatible one, refuses an active incompatible one', () => {
    const p = policy();
    expect(p.decidePrimaryContext(false, 0)).toBe('set-flags');
    expect(p.decidePrimaryContext(false, 4)).toBe('use');
    expect(p.decidePrimaryContext(true, 4)).toBe('use');
    // what a bare cudaSetDevice before FFmpeg leaves behind: active with default flags (0)
    expect(p.decidePrimaryContext(true, 0)).toBe('incompatible');
    expect(p.decidePrimaryContext(true, 1)).toBe('incompatible');
  });
});

describe('gpuPolicy: driver floor of the CUDA runtime', () => {
  it('CUDA 13 needs the R580 branch (driver API 13.0); CUDA 12 runs on R525+', () => {
    const p = policy();
    expect(p.driverFloor(13000)).toEqual({ runtimeVersion: 13000, minDriverApi: 13000, branch: 'R580 (580.65.06 or newer)' });
    expect(p.driverFloor(12040).branch).toBe('R525 (525.60.13 or newer)');
    // R535 reports driver API 12.2 (12020): it cannot run CUDA 13 kernels, R580 (13000) and R590 (13010) can
    expect(p.driverRunsRuntime(12020, 13000)).toBe(false);
    expect(p.driverRunsRuntime(13000, 13000)).toBe(true);
    expect(p.driverRunsRuntime(13010, 13000)).toBe(true);
    expect(p.driverRunsRuntime(0, 13000)).toBe(false);
  });

  it('capabilities().cuda states the floor of this build', () => {
    const cuda = native().capabilities().cuda;
    if (!cuda.compiled) return; // a CUDA-off build has no runtime and no floor
    expect(cuda.minDriver).toEqual({ driverApi: Math.floor(cuda.runtimeVersion / 1000) * 1000, branch: policy().driverFloor(cuda.runtimeVersion).branch });
    expect(typeof cuda.kernelsUsable).toBe('boolean');
  });
});

describe('gpuPolicy: decoder device', () => {
  it("'auto' uses NVDEC only when the kernels can run too, and reports why not", () => {
    const p = policy();
    expect(p.chooseDecodeDevice('auto', 0, goodFacts)).toEqual({ useNvdec: true, error: false, reason: '' });
    const oldDriver = p.chooseDecodeDevice('auto', 0, { ...goodFacts, kernelsUsable: false, kernelsReason: 'driver too old' });
    expect(oldDriver.useNvdec).toBe(false);
    expect(oldDriver.error).toBe(false);
    expect(oldDriver.reason).toContain('driver too old');
    expect(p.chooseDecodeDevice('auto', 0, { ...goodFacts, driverLoaded: false, driverError: 'no libcuda' })).toEqual({
      useNvdec: false,
      error: false,
      reason: 'no libcuda',
    });
  });

  it("'cuda:N' that cannot be served is an error, never a silent CPU fallback", () => {
    const p = policy();
    const r = p.chooseDecodeDevice('cuda', 1, { ...goodFacts, nvdecAvailable: false, nvdecReason: 'no H.264 NVDEC' });
    expect(r).toEqual({ useNvdec: false, error: true, reason: 'no H.264 NVDEC' });
    expect(p.chooseDecodeDevice('cuda', 5, goodFacts)).toMatchObject({ error: true, reason: 'no CUDA device 5' });
    expect(p.chooseDecodeDevice('cpu', 0, goodFacts)).toEqual({ useNvdec: false, error: false, reason: '' });
  });

  it("'auto' places streams on the NVDEC-capable GPU with the fewest live decoders", () => {
    const p = policy();
    expect(p.placeOnDevice([true, true], [0, 0])).toBe(0);
    expect(p.placeOnDevice([true, true], [2, 1])).toBe(1);
    expect(p.placeOnDevice([false, true, true], [0, 3, 3])).toBe(1);
    expect(p.placeOnDevice([false, false], [0, 0])).toBe(-1);
  });

  it('NVDEC surfaces stay within 32 for any stream NVDEC can decode, whatever the frame pool size', () => {
    const p = policy();
    // x264 medium (ref 3 + 2 reordered), phone HEVC (~6), H.264 level 5.1 worst case (16 + 8)
    for (const dpb of [5, 6, 24, 29]) expect(p.nvdecSurfaces(dpb)).toEqual({ surfaces: dpb + 3, fits: true, limit: 32 });
    expect(p.nvdecSurfaces(30).fits).toBe(false);
    // before: DPB + 2 + (poolSize 24 + 2) = 33 for x264 medium at the worker's pool size
    expect(5 + 2 + 24 + 2).toBeGreaterThan(32);
  });
});

describe('gpuPolicy: NVENC eligibility', () => {
  const cudaNv12 = { cudaFrame: true, swFormat: 'nv12', width: 1920, height: 1080, deviceHasNvenc: true, deviceReason: '', buildHasNvenc: true };
  it('picks NVENC for 8-bit 4:2:0 CUDA frames up to 4096 on a GPU that has it', () => {
    expect(policy().chooseEncoder(cudaNv12)).toEqual({ useNvenc: true, reason: '' });
    expect(policy().chooseEncoder({ ...cudaNv12, swFormat: 'yuv420p', width: 4096, height: 2160 }).useNvenc).toBe(true);
  });
  it('falls back to libx264 with the reason for what NVENC cannot take', () => {
    const p = policy();
    expect(p.chooseEncoder({ ...cudaNv12, swFormat: 'p010le' })).toEqual({
      useNvenc: false,
      reason: 'H.264 NVENC takes 8-bit 4:2:0 frames (nv12, yuv420p), not p010le',
    });
    expect(p.chooseEncoder({ ...cudaNv12, swFormat: 'yuv444p' }).useNvenc).toBe(false);
    expect(p.chooseEncoder({ ...cudaNv12, width: 4112 }).reason).toBe('H.264 NVENC encodes up to 4096x4096, not 4112x1080');
    expect(p.chooseEncoder({ ...cudaNv12, deviceHasNvenc: false, deviceReason: 'this GPU has no NVENC engine' }).reason).toBe(
      'this GPU has no NVENC engine',
    );
    expect(p.chooseEncoder({ ...cudaNv12, cudaFrame: false }).useNvenc).toBe(false);
    expect(p.chooseEncoder({ ...cudaNv12, buildHasNvenc: false }).reason).toBe('this FFmpeg build has no h264_nvenc encoder');
  });
});

describe('gpuPolicy: colour matrix and range', () => {
  it('BT.709 when tagged, BT.601 otherwise; full range for pc/yuvj', () => {
    const p = policy();
    expect(p.yuvColor({})).toBe('bt601-limited');
    expect(p.yuvColor({ colorspace: 'bt709' })).toBe('bt709-limited');
    expect(p.yuvColor({ colorspace: 'bt709', range: 'pc' })).toBe('bt709-full');
    expect(p.yuvColor({ colorspace: 'smpte170m', range: 'tv' })).toBe('bt601-limited');
    expect(p.yuvColor({ colorspace: 'bt470bg', range: 'pc' })).toBe('bt601-full');
    expect(p.yuvColor({ format: 'yuvj420p' })).toBe('bt601-full');
    expect(p.yuvColor({ format: 'nv12', range: 'pc', colorspace: 'bt709' })).toBe('bt709-full');
  });
  it('8-bit 4:2:0 only; P010, 4:2:2 and 4:4:4 are refused with a reason', () => {
    const p = policy();
    for (const ok of ['nv12', 'yuv420p', 'yuvj420p']) expect(p.unsupportedFormatReason(ok)).toBe('');
    expect(p.unsupportedFormatReason('p010le')).toMatch(/^the video is 10-bit 4:2:0 \(p010le\); .*8-bit 4:2:0/);
    expect(p.unsupportedFormatReason('yuv444p')).toMatch(/^the video is 4:4:4 \(yuv444p\)/);
    expect(p.unsupportedFormatReason('yuv422p10le')).toMatch(/^the video is 10-bit 4:2:2/);
  });
});

describe('gpuPolicy: TensorRT execution contexts', () => {
  it('bounds contexts by half the free memory, 1..8', () => {
    const GiB = 1024 ** 3;
    const p = policy();
    expect(p.maxExecutionContexts(20 * GiB, 1 * GiB)).toBe(8);
    expect(p.maxExecutionContexts(20 * GiB, 3 * GiB)).toBe(3);
    expect(p.maxExecutionContexts(1 * GiB, 3 * GiB)).toBe(1);
    expect(p.maxExecutionContexts(20 * GiB, 0)).toBe(8);
  });
});
