import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { native, nativeAddonPath, packageRoot, type NativeCapabilities } from './addon';

/** What this installation of trickle-rt can do on this machine. */
export interface Capabilities extends NativeCapabilities {
  version: string;
  node: string;
  platform: string;
  addon: string;
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
  };
}
