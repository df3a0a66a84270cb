// What the statically linked CUDA runtime can see. Compiled in both builds: without
// TRICKLE_HAVE_CUDA every query reports "built without CUDA". Thread-safe.
#pragma once

#include <string>

#include "common/native_error.h"

namespace trickle {

struct CudaRuntimeInfo {
  bool compiled = false;       // CUDA kernels compiled into this binary
  int runtime_version = 0;     // e.g. 13000
  int driver_version = 0;      // 0 when no driver
  int device_count = 0;
  std::string status;          // "ok", "built without CUDA", "no CUDA device: cudaErrorInsufficientDriver ..."
  std::string architectures;   // CMAKE_CUDA_ARCHITECTURES the kernels were built for
  // The kernels can run: compiled in, the runtime initialised, at least one device. NVDEC (driver
  // API) may work where this is false (a driver older than the runtime's floor): the decoder then
  // keeps to software on 'auto' (common/gpu_policy.h).
  bool kernels_usable = false;
  int min_driver_api = 0;         // the runtime's driver floor, cuDriverGetVersion style (13000)
  std::string min_driver_branch;  // e.g. "R580 (580.65.06 or newer)"
};

CudaRuntimeInfo QueryCudaRuntime();

// Runs the NV12->RGB24 kernel on a synthetic frame of the given size on `device` and compares it
// byte for byte with the CPU implementation. Returns the number of differing bytes (0 = match).
// Throws NativeException ERR_CUDA_UNAVAILABLE when built without CUDA or with no device.
long CudaColorSelfTest(int device, int width, int height);

}  // namespace trickle
