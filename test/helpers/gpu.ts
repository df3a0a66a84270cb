/**
 * GPU test gating. GPU tests run only where a CUDA device is visible; under REQUIRE_GPU=1 a missing
 * GPU fails the test instead of skipping it (so a GPU CI job cannot pass by skipping everything).
 */
import { capabilities } from '../../src/native/capabilities';

export const requireGpu = process.env['REQUIRE_GPU'] === '1';

export function gpuAvailable(): boolean {
  try {
    const caps = capabilities();
    return caps.cuda.compiled && caps.devices.length > 0 && caps.cuda.status === 'ok';
  } catch {
    return false;
  }
}

/** True when GPU tests should run; throws under REQUIRE_GPU=1 when no GPU is usable. */
export function shouldRunGpuTests(): boolean {
  const ok = gpuAvailable();
  if (!ok && requireGpu) {
    let reason = 'unknown';
    try {
      const caps = capabilities();
      reason = `cuda: ${caps.cuda.status}; driver: ${caps.driver.reason ?? 'loaded'}`;
    } catch (err) {
      reason = String(err);
    }
    throw new Error(`REQUIRE_GPU=1 but no usable CUDA GPU: ${reason}`);
  }
  return ok;
}
