/**
 * GPU media path: NVDEC decode into CUDA frames, NVENC encode from CUDA frames (where the GPU has
 * NVENC), and x264 from CUDA frames with one download each (GPUs without NVENC: H100/H200/A100).
 * Compared with the CPU path on the index pattern (exact frame indices: the pattern survives both
 * decoders; pixels may differ by the decoders' rounding, so indices, not bytes, are compared).
 * Skipped without a GPU; failing under REQUIRE_GPU=1 (test/helpers/gpu.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { capabilities } from '../../src/native/capabilities';
import { Decoder } from '../../src/media/decoder';
import { Encoder } from '../../src/media/encoder';
import { ffmpegLumaFrames, ffprobeVideoFrames, fixturePath, patternIndex } from '../helpers/fixtures';
import { shouldRunGpuTests } from '../helpers/gpu';

const gpu = shouldRunGpuTests();

describe.skipIf(!gpu)('NVDEC / NVENC media path on a GPU', () => {
  it("device 'cuda:0' decodes into CUDA frames with the same count and pts as the CPU decoder", async () => {
    const cpuPts: Array<number | null> = [];
    for await (const item of Decoder.from(fixturePath('pattern'), { device: 'cpu', audio: 'none' }).frames()) {
      if (item.type === 'video') {
        cpuPts.push(item.frame.pts);
        item.frame.close();
      }
    }
    const decoder = Decoder.from(fixturePath('pattern'), { device: 'cuda:0', audio: 'none' });
    const gpuPts: Array<number | null> = [];
    const indices: number[] = [];
    for await (const item of decoder.frames()) {
      if (item.type !== 'video') continue;
      using f = item.frame;
      expect(f.location).toBe('cuda');
      expect(f.device).toBe(0);
      gpuPts.push(f.pts);
      using host = await f.download();
      const [y] = host.planes();
      indices.push(patternIndex(y!.data, y!.stride, y!.width, y!.height));
    }
    expect(decoder.stats().hardware).toBe(true);
    expect(gpuPts).toEqual(cpuPts);
    expect(indices).toEqual([...Array(90).keys()]);
  });

  it('encodes CUDA frames: NVENC when the GPU has it, else x264 after one download per frame', async () => {
    const nvenc = capabilities().nvenc.available;
    const encoder = new Encoder({ encoder: 'auto', gopSeconds: 1, audio: 'none' });
    const decoder = Decoder.from(fixturePath('pattern'), { device: 'cuda:0', audio: 'none' });
    const feeding = (async () => {
      for await (const item of decoder.frames()) {
        if (item.type !== 'video') continue;
        await encoder.encode(item.frame);
        item.frame.close();
      }
      encoder.end();
    })();
    const parts: Buffer[] = [];
    for await (const c of encoder.chunks()) if (c.type === 'chunk') parts.push(c.data);
    await feeding;
    const s = encoder.stats();
    expect(s.encoder).toBe(nvenc ? 'h264_nvenc' : 'libx264');
    expect(s.downloads).toBe(nvenc ? 0 : 90);
    const path = join(mkdtempSync(join(tmpdir(), 'trickle-gpu-')), 'out.ts');
    writeFileSync(path, Buffer.concat(parts));
    expect(ffprobeVideoFrames(path)).toHaveLength(90);
    expect(ffmpegLumaFrames(path, 320, 192).map((y) => patternIndex(y, 320, 320, 192))).toEqual([...Array(90).keys()]);
  });
});
