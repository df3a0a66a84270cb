/**
 * GPU stream ordering under concurrency (docs/frames.md, "Stream ordering"). Every hand-off between
 * FFmpeg's stream, the ops stream and an engine's stream is exercised while other pipelines keep
 * the same GPU busy, and each handle is released as early as the API allows, so that a missing
 * wait shows up as a wrong byte rather than a slow run:
 * - NVDEC picture copied out on FFmpeg's stream -> toTensor on the ops stream, with the decoded frame
 *   closed as soon as the kernel is queued (its pool slot is refilled by the next copy);
 * - toTensor -> fromTensor, with the tensor closed as soon as fromTensor is queued (its memory goes
 *   back to the stream-ordered pool);
 * - fromTensor -> download (av_hwframe_transfer_data on FFmpeg's stream).
 * Eight small or four 1080p pipelines run at once; each frame must equal, byte for byte, the CPU path's frame (the
 * kernels and the CPU loops share their arithmetic). Skipped without a GPU.
 */
import { describe, expect, it } from 'vitest';

import { Decoder, VideoFrame } from '../../src/index';
import { fixturePath } from '../helpers/fixtures';
import { shouldRunGpuTests } from '../helpers/gpu';

const gpu = shouldRunGpuTests();
type Planes = Uint8Array[];

/**
 * decode -> toTensor -> fromTensor(nv12) -> (download) -> planes, for every video frame of `path`;
 * `each(i, planes)` sees frame i. Returns the frame count and whether NVDEC decoded.
 */
async function roundTrips(path: string, device: 'cpu' | 'cuda:0', each: (i: number, planes: Planes) => void): Promise<{ frames: number; hardware: boolean }> {
  const decoder = Decoder.from(path, { device, audio: 'none' });
  let frames = 0;
  for await (const item of decoder.frames()) {
    if (item.type !== 'video') continue;
    const frame = item.frame;
    const tensor = await frame.toTensor({ dtype: 'uint8', layout: 'nhwc' });
    frame.close(); // the decoder may refill this pool slot while the kernel is still queued
    const out = await VideoFrame.fromTensor(tensor, null, { format: 'nv12' });
    tensor.close(); // freed onto the stream-ordered pool while fromTensor may still read it
    if (device === 'cuda:0') expect(out.location).toBe('cuda');
    using host = out.location === 'cuda' ? await out.download() : null;
    each(frames++, (host ?? out).planes().map((p) => new Uint8Array(p.data)));
    out.close();
  }
  return { frames, hardware: decoder.stats().hardware };
}

/** `pipelines` concurrent NVDEC round trips of `path`, each frame compared with the CPU path's. */
async function expectPipelinesMatchCpu(path: string, pipelines: number): Promise<void> {
  const want: Planes[] = [];
  const cpu = await roundTrips(path, 'cpu', (_, planes) => want.push(planes));
  expect(cpu.frames).toBeGreaterThan(0);
  const mismatches: string[] = [];
  const runs = await Promise.all(
    Array.from({ length: pipelines }, (_, p) =>
      roundTrips(path, 'cuda:0', (i, got) => {
        const ref = want[i];
        if (!ref || got.length !== ref.length) {
          mismatches.push(`pipeline ${p} frame ${i}: ${ref ? 'plane count' : 'extra frame'}`);
          return;
        }
        // Buffer.compare: one call per plane, and nothing kept per frame (1080p planes are large)
        for (let k = 0; k < ref.length; k++) {
          if (Buffer.compare(Buffer.from(got[k]!.buffer, got[k]!.byteOffset, got[k]!.byteLength), Buffer.from(ref[k]!.buffer, ref[k]!.byteOffset, ref[k]!.byteLength)) !== 0) {
            mismatches.push(`pipeline ${p} frame ${i} plane ${k}`);
          }
        }
      }),
    ),
  );
  expect(mismatches).toEqual([]);
  for (const run of runs) {
    expect(run.hardware).toBe(true);
    expect(run.frames).toBe(cpu.frames);
  }
}

describe.skipIf(!gpu)('GPU stream ordering with concurrent pipelines', () => {
  it('8 NVDEC pipelines at once (320x192): toTensor -> fromTensor -> download equal the CPU path byte for byte', async () => {
    await expectPipelinesMatchCpu(fixturePath('pattern'), 8);
  }, 300_000);

  it('4 NVDEC pipelines at once (1080p, longer kernels overlap more): equal the CPU path byte for byte', async () => {
    await expectPipelinesMatchCpu(fixturePath('hd1080'), 4);
  }, 300_000);
});
