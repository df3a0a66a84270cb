import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { native, nativeAddonPath, packageRoot, type NativeCapabilities, type NativeGpuInventory, type NativeGpuStats } from './addon';

/** What this installation of trickle-rt can do on this machine. */
export interface Capabilities extends NativeCapabilities {
  version: string;
  node: string;
  platform: string;
  addon: string;
  /**
   * The NVIDIA driver this build's CUDA kernels need, whether this machine's driver meets it, and
   * why (absent in a build without CUDA).
   */
  driverFloor?: { needs: string; driverApi: number; thisDriverApi: number; met: boolean; why: string };
}

function driverFloor(caps: NativeCapabilities): Capabilities['driverFloor'] {
  const floor = caps.cuda.minDriver;
  if (!caps.cuda.compiled || !floor) return undefined;
  const v = (n: number): string => `${Math.floor(n / 1000)}.${Math.floor((n % 1000) / 10)}`;
  return {
    needs: floor.branch,
    driverApi: floor.driverApi,
    thisDriverApi: caps.driver.version,
    met: caps.driver.loaded && caps.driver.version >= floor.driverApi,
    why:
      `this build links the CUDA ${v(caps.cuda.runtimeVersion)} runtime statically; a CUDA runtime of major version ` +
      `${Math.floor(caps.cuda.runtimeVersion / 1000)} runs only on drivers whose CUDA driver API is ${v(floor.driverApi)} or newer ` +
      `(NVIDIA's minor version compatibility rule). Older drivers still decode (NVDEC) and encode (NVENC), but the ` +
      `CUDA kernels and TensorRT cannot run, so device 'auto' decodes on the CPU there`,
  };
}

/** The package version from package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Reports the package and Node versions, FFmpeg library versions, whether CUDA was compiled in,
 * the NVIDIA driver and devices, NVDEC/NVENC availability and TensorRT status. Never throws for a
 * missing GPU: absent pieces are reported with a `reason`.
 *
 * @example
 * const caps = capabilities();
 * if (!caps.nvdec.available) console.log('software decode:', caps.nvdec.reason);
 */
export function capabilities(): Capabilities {
  const caps = native().capabilities();
  return {
    version: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    addon: nativeAddonPath(),
    ...caps,
    ...(driverFloor(caps) ? { driverFloor: driverFloor(caps) } : {}),
  };
}

/**
 * The CUDA devices, driver, CUDA and TensorRT state, without {@link capabilities}' NVDEC/NVENC
 * probes: those open a context and an NVENC session on every GPU, so code that only needs the
 * device list (the worker's `/hardware/info`, `Engine.load`) uses this. NVDEC and NVENC are probed
 * per device when a stream first needs them.
 */
export function gpuInventory(): NativeGpuInventory {
  return native().gpuInventory();
}

/**
 * Per-GPU utilisation, memory, temperature and power from NVML, which comes with the NVIDIA
 * driver: libnvidia-ml.so.1 is loaded at the first call (never linked). Without it, `available`
 * is false and `reason` says why. `library` (tests) loads another NVML-compatible library.
 */
export function gpuStats(library?: string): NativeGpuStats {
  return native().gpuStats(library);
}
