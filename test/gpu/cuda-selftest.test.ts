import { describe, expect, it } from 'vitest';

import { native } from '../../src/native/addon';
import { shouldRunGpuTests } from '../helpers/gpu';

describe.skipIf(!shouldRunGpuTests())('CUDA kernels on a GPU', () => {
  it('NV12->RGB kernel matches the CPU implementation byte for byte', async () => {
    for (const [w, h] of [[64, 64], [640, 360], [1920, 1080], [1918, 1078]] as const) {
      expect(await native().cudaColorSelfTest(0, w, h)).toBe(0);
    }
  });
});
