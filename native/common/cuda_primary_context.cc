#include "common/cuda_primary_context.h"

#include <set>
#include <string>

#define FFNV_LOG_FUNC(logctx, msg, ...) ((void)0)
#define FFNV_DEBUG_LOG_FUNC(logctx, msg, ...) ((void)0)
#include <ffnvcodec/dynlink_loader.h>

#include "common/gpu_policy.h"
#include "common/native_error.h"

namespace trickle {
namespace {

struct DriverApi {
  CudaFunctions* cu = nullptr;
  std::string error;
};

// libcuda's function table, loaded and initialised once (kept for the process: see gpu_driver.cc).
const DriverApi& Driver() {
  static DriverApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    CudaFunctions* cu = nullptr;
    if (cuda_load_functions(&cu, nullptr) < 0) {
      api.error = "libcuda.so.1 not loadable (no NVIDIA driver)";
      return;
    }
    const CUresult r = cu->cuInit(0);
    if (r != CUDA_SUCCESS) {
      api.error = "cuInit failed (CUresult " + std::to_string(static_cast<int>(r)) + ")";
      return;
    }
    api.cu = cu;
  });
  return api;
}

[[noreturn]] void Unavailable(const std::string& message, int code = 0) {
  throw NativeException("ERR_CUDA_UNAVAILABLE", message, "PreparePrimaryContext", code);
}

}  // namespace

std::mutex& PrimaryContextLock() {
  static auto* mu = new std::mutex();  // process lifetime
  return *mu;
}

void PreparePrimaryContextLocked(int device) {
  static std::set<int>* prepared = new std::set<int>();
  if (prepared->count(device)) return;
  const DriverApi& api = Driver();
  if (!api.cu) Unavailable("cannot use CUDA device " + std::to_string(device) + ": " + api.error);
  CudaFunctions* cu = api.cu;
  CUdevice dev = 0;
  CUresult r = cu->cuDeviceGet(&dev, device);
  if (r != CUDA_SUCCESS) Unavailable("CUDA device " + std::to_string(device) + " does not exist", r);
  unsigned flags = 0;
  int active = 0;
  r = cu->cuDevicePrimaryCtxGetState(dev, &flags, &active);
  if (r != CUDA_SUCCESS) Unavailable("cuDevicePrimaryCtxGetState failed (CUresult " + std::to_string(static_cast<int>(r)) + ")", r);
  switch (DecidePrimaryContext(active != 0, flags)) {
    case PrimaryContextAction::kUse:
      break;
    case PrimaryContextAction::kSetFlags:
      r = cu->cuDevicePrimaryCtxSetFlags(dev, kPrimaryContextFlags);
      if (r != CUDA_SUCCESS) Unavailable("cuDevicePrimaryCtxSetFlags failed (CUresult " + std::to_string(static_cast<int>(r)) + ")", r);
      break;
    case PrimaryContextAction::kIncompatible:
      Unavailable("the primary CUDA context of device " + std::to_string(device) +
                  " was already activated by other code in this process with scheduling flags " + std::to_string(flags) +
                  "; FFmpeg's CUDA hwcontext needs CU_CTX_SCHED_BLOCKING_SYNC (4). Let trickle-rt touch the GPU "
                  "first, or call cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync) before any other CUDA call");
  }
  prepared->insert(device);
}

}  // namespace trickle
