/**
 * `/hardware/stats` on a machine with the NVIDIA driver: NVML reports the same GPUs CUDA sees, with
 * memory, utilisation and temperature in range. Skipped without a GPU; fails under REQUIRE_GPU=1.
 */
import { describe, expect, it } from 'vitest';

import { gpuInventory, gpuStats } from '../../src/native/capabilities';
import { gpuUtilization } from '../../src/worker/hardware';
import { shouldRunGpuTests } from '../helpers/gpu';

const run = shouldRunGpuTests();

describe.skipIf(!run)('GPU stats from the real NVML', () => {
  it('one entry per CUDA device, values in range, ai-runner shape', () => {
    const s = gpuStats();
    expect(s.reason).toBeUndefined();
    expect(s.available).toBe(true);
    // CUDA_VISIBLE_DEVICES may hide GPUs from CUDA, never from NVML.
    expect(s.gpus.length).toBeGreaterThanOrEqual(gpuInventory().devices.length);
    for (const g of s.gpus) {
      expect(g.name.length).toBeGreaterThan(0);
      expect(g.memoryTotal).toBeGreaterThan(1 << 30);
      expect(g.memoryFree).toBeGreaterThan(0);
      expect(g.memoryFree).toBeLessThanOrEqual(g.memoryTotal);
      if (g.utilizationCompute !== null) expect(g.utilizationCompute).toBeGreaterThanOrEqual(0);
      if (g.utilizationCompute !== null) expect(g.utilizationCompute).toBeLessThanOrEqual(100);
      if (g.temperatureC !== null) expect(g.temperatureC).toBeGreaterThan(0);
      if (g.temperatureC !== null) expect(g.temperatureC).toBeLessThan(120);
      if (g.powerW !== null) expect(g.powerW).toBeGreaterThan(0);
    }
    const body = gpuUtilization();
    expect(body.gpu_stats_unavailable).toBeUndefined();
    expect(Object.keys(body.gpu_stats)).toEqual(s.gpus.map((g) => String(g.index)));
    expect(body.gpu_stats['0']).toMatchObject({ id: 'cuda:0', name: s.gpus[0]!.name, memory_total: s.gpus[0]!.memoryTotal });
  });
});
