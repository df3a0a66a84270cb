/**
 * The worker on the GPU path: NVDEC frames in CUDA memory, input crop by CUDA kernels, the tint
 * processor reading the bytes back (one device→host copy), encoder 'auto'. The effect must be in
 * the decoded output pixels exactly as on the CPU path. Skipped without a GPU; fails under REQUIRE_GPU=1.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { createProcessor } from '../../src/processor/create-processor';
import { createTintProcessor } from '../../src/processor/samples/tint';
import type { VideoFrame } from '../../src/media/video-frame';
import { shouldRunGpuTests } from '../helpers/gpu';
import { dominance, fixtureBytes, Harness } from '../helpers/worker-harness';

const run = shouldRunGpuTests();
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

describe.skipIf(!run)('worker on the GPU path', () => {
  it('NVDEC input, CUDA crop, tint in the output pixels', async () => {
    const locations = new Set<string>();
    const tint = createTintProcessor();
    const h = await Harness.create(
      createProcessor<VideoFrame>({
        video: async (frame, ctx) => {
          locations.add(frame.location);
          return tint.processVideo(frame, ctx);
        },
      }),
      { media: { device: 'auto' } },
    );
    harnesses.push(h);
    await h.start('g', { tint: 'red', max_framerate: 60, width: 256, height: 256 });
    const out = h.output('g');
    await h.publishInput('g', fixtureBytes());
    await out.done;
    expect(locations).toEqual(new Set(['cuda']));
    expect(out.frames).toHaveLength(60);
    for (const f of out.frames) {
      expect([f.width, f.height]).toEqual([256, 256]);
      expect(dominance(f.rgb, 0)).toBeGreaterThan(40);
    }
  });
});
