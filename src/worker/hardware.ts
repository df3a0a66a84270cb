/** `/hardware/info`: the CUDA devices the addon sees, in ai-runner's shape. */
import { capabilities } from '../native/capabilities';

export function gpuInfo(): Record<string, unknown> {
  try {
    const caps = capabilities();
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
