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
 * Eight pipelines run at once; each frame must equal, byte for byte, the CPU path's frame (the
 * kernels and the CPU loops share their arithmetic). Skipped without a GPU.
 */
import { describe, expect, it } from 'vitest';

import { Decoder, VideoFrame } from '../../src/index';
import { fixturePath } from '../helpers/fixtures';
import { shouldRunGpuTests } from '../helpers/gpu';

const gpu = shouldRunGpuTests();
const PIPELINES = 8;

type Planes = Uint8Array[];

/** decode -> toTensor -> fromTensor(nv12) -> (download) -> planes, for every video frame of `path`. */
async function roundTrips(path: string, device: 'cpu' | 'cuda:0'): Promise<{ planes: Planes[]; hardware: boolean }> {
  const decoder = Decoder.from(path, { device, audio: 'none' });
  const planes: Planes[] = [];
  for await (const item of decoder.frames()) {
    if (item.type !== 'video') continue;
    const frame = item.frame;
    const tensor = await frame.toTensor({ dtype: 'uint8', layout: 'nhwc' });
    frame.close(); // the decoder may refill this pool slot while the kernel is still queued
    const out = await VideoFrame.fromTensor(tensor, null, { format: 'nv12' });
    tensor.close(); // freed onto the stream-ordered pool while fromTensor may still read it
    if (device === 'cuda:0') expect(out.location).toBe('cuda');
    using host = out.location === 'cuda' ? await out.download() : null;
    planes.push((host ?? out).planes().map((p) => new Uint8Array(p.data)));
    out.close();
  }
  return { planes, hardware: decoder.stats().hardware };
}

describe.skipIf(!gpu)('GPU stream ordering with concurrent pipelines', () => {
  it(`${PIPELINES} NVDEC pipelines at once: toTensor -> fromTensor -> download equal the CPU path byte for byte`, async () => {
    const path = fixturePath('pattern');
    const want = await roundTrips(path, 'cpu');
    expect(want.planes.length).toBe(90);
    const runs = await Promise.all(Array.from({ length: PIPELINES }, () => roundTrips(path, 'cuda:0')));
    for (const run of runs) {
      expect(run.hardware).toBe(true);
      expect(run.planes.length).toBe(want.planes.length);
      for (let i = 0; i < want.planes.length; i++) {
        const got = run.planes[i]!;
        const ref = want.planes[i]!;
        expect(got.length).toBe(ref.length);
        for (let p = 0; p < ref.length; p++) {
          // Buffer.compare: one call per plane instead of an element-wise toEqual on 60k bytes
          expect(Buffer.compare(Buffer.from(got[p]!), Buffer.from(ref[p]!)), `frame ${i} plane ${p}`).toBe(0);
        }
      }
    }
  }, 300_000);
});
