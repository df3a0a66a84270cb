/** `/hardware/info` and `/hardware/stats`: the GPUs, in ai-runner's shapes. */
import { gpuInventory, gpuStats } from '../native/capabilities';

export function gpuInfo(): Record<string, unknown> {
  try {
    const caps = gpuInventory();  // no NVDEC/NVENC probe on every GPU for a device list
    const out: Record<string, unknown> = {};
    for (const d of caps.devices) {
      const [major, minor] = d.computeCapability.split('.').map((x) => Number(x));
      out[String(d.index)] = { id: `cuda:${d.index}`, name: d.name, memory_total: d.totalMemory, memory_free: null, major, minor };
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * `/hardware/stats`: ai-runner's `gpu_stats` map (index → `{id, name, memory_total, memory_free,
 * utilization_compute, utilization_memory}`, plus trickle-rt's `temperature` in °C and
 * `power_usage` in watts) from NVML. Without NVML the map is empty and `gpu_stats_unavailable`
 * says why.
 */
export function gpuUtilization(library?: string): { gpu_stats: Record<string, unknown>; gpu_stats_unavailable?: string } {
  let stats;
  try {
    stats = gpuStats(library);
  } catch (err) {
    return { gpu_stats: {}, gpu_stats_unavailable: `the native addon could not read NVML: ${(err as Error)?.message ?? String(err)}` };
  }
  const out: Record<string, unknown> = {};
  for (const g of stats.gpus) {
    out[String(g.index)] = {
      id: `cuda:${g.index}`,
      name: g.name,
      memory_total: g.memoryTotal,
      memory_free: g.memoryFree,
      utilization_compute: g.utilizationCompute,
      utilization_memory: g.utilizationMemory,
      temperature: g.temperatureC,
      power_usage: g.powerW,
    };
  }
  return stats.available ? { gpu_stats: out } : { gpu_stats: out, gpu_stats_unavailable: stats.reason ?? 'NVML is not available' };
}
