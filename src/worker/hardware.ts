/** `/hardware/info`: the CUDA devices the addon sees, in ai-runner's shape. */
import { gpuInventory } from '../native/capabilities';

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
