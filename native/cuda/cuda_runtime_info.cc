#include "cuda/cuda_runtime_info.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/gpu_policy.h"
#include "frame/color_convert.h"

#ifdef TRICKLE_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "cuda/cuda_ops.h"
#include "cuda/kernels.h"
#endif

namespace trickle {

#ifdef TRICKLE_HAVE_CUDA
namespace {

// Static cudart reports cudaErrorInsufficientDriver (35) when no driver is installed at all and
// cudaErrorNoDevice (100) when the driver sees no GPU; both mean "no CUDA device here".
bool IsNoDeviceError(cudaError_t e) { return e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice; }

std::string CudaErrorText(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

void CheckCuda(cudaError_t e, const char* op) {
  if (e != cudaSuccess) {
    throw NativeException("ERR_CUDA", std::string(op) + " failed: " + CudaErrorText(e), op, e);
  }
}

struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(size_t bytes) { CheckCuda(cudaMalloc(&ptr, bytes), "cudaMalloc"); }
  ~DeviceBuffer() { if (ptr) cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

}  // namespace

#ifndef TRICKLE_CUDA_ARCHITECTURES
#define TRICKLE_CUDA_ARCHITECTURES ""
#endif

CudaRuntimeInfo QueryCudaRuntime() {
  CudaRuntimeInfo info;
  info.compiled = true;
  info.architectures = TRICKLE_CUDA_ARCHITECTURES;
  cudaRuntimeGetVersion(&info.runtime_version);
  cudaDriverGetVersion(&info.driver_version);
  const DriverFloor floor = DriverFloorFor(info.runtime_version);
  info.min_driver_api = floor.min_driver_api;
  info.min_driver_branch = floor.min_driver_branch;
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaSuccess) {
    info.device_count = count;
    info.status = count > 0 ? "ok" : "no CUDA device";
    info.kernels_usable = count > 0;
  } else if (e == cudaErrorInsufficientDriver && info.driver_version > 0 &&
             !DriverRunsRuntime(info.driver_version, info.runtime_version)) {
    // A driver is there (NVDEC/NVENC may work through it) but too old for this runtime.
    cudaGetLastError();
    info.status = "the NVIDIA driver supports CUDA " + std::to_string(info.driver_version / 1000) + "." +
                  std::to_string(info.driver_version % 1000 / 10) + " but this build's CUDA " +
                  std::to_string(info.runtime_version / 1000) + "." + std::to_string(info.runtime_version % 1000 / 10) +
                  " runtime needs driver " + floor.min_driver_branch + ": " + CudaErrorText(e);
  } else if (IsNoDeviceError(e)) {
    cudaGetLastError();  // clear the sticky-free error state for later calls
    info.status = "no CUDA device: " + CudaErrorText(e);
  } else {
    cudaGetLastError();
    info.status = "CUDA runtime error: " + CudaErrorText(e);
  }
  return info;
}

long CudaColorSelfTest(int device, int width, int height) {
  if (width <= 0 || height <= 0 || (width & 1) || (height & 1)) {
    throw NativeException("ERR_INVALID_ARG", "self-test size must be positive and even", "CudaColorSelfTest");
  }
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || device < 0 || device >= count) {
    cudaGetLastError();
    throw NativeException("ERR_CUDA_UNAVAILABLE",
                          e != cudaSuccess ? "no CUDA device: " + CudaErrorText(e)
                                           : "CUDA device " + std::to_string(device) + " does not exist",
                          "cudaGetDeviceCount", e);
  }
  // Through the ops stream: FFmpeg's device first, so the primary context gets the flags FFmpeg needs
  // (common/cuda_primary_context.h) whatever runs later in this process.
  cuda::OpsStream(device);
  const int y_pitch = width, uv_pitch = width, rgb_pitch = width * 3;
  std::vector<uint8_t> nv12(static_cast<size_t>(y_pitch) * height * 3 / 2);
  uint32_t seed = 12345;
  for (auto& b : nv12) {  // deterministic pseudo-random content covering the whole value range
    seed = seed * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(seed >> 24);
  }
  const uint8_t* y = nv12.data();
  const uint8_t* uv = nv12.data() + static_cast<size_t>(y_pitch) * height;
  std::vector<uint8_t> expected(static_cast<size_t>(rgb_pitch) * height);
  Nv12ToRgb24Cpu(y, y_pitch, uv, uv_pitch, expected.data(), rgb_pitch, width, height);

  cudaStream_t stream = nullptr;
  CheckCuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  std::vector<uint8_t> actual(expected.size());
  try {
    DeviceBuffer d_in(nv12.size());
    DeviceBuffer d_out(actual.size());
    CheckCuda(cudaMemcpyAsync(d_in.ptr, nv12.data(), nv12.size(), cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync");
    const auto* d_y = static_cast<const uint8_t*>(d_in.ptr);
    const uint8_t* d_uv = d_y + static_cast<size_t>(y_pitch) * height;
    CheckCuda(static_cast<cudaError_t>(cuda::Nv12ToRgb24(d_y, y_pitch, d_uv, uv_pitch,
                                                         static_cast<uint8_t*>(d_out.ptr), rgb_pitch, width,
                                                         height, stream)),
              "Nv12ToRgb24 launch");
    CheckCuda(cudaMemcpyAsync(actual.data(), d_out.ptr, actual.size(), cudaMemcpyDeviceToHost, stream),
              "cudaMemcpyAsync");
    CheckCuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  } catch (...) {
    cudaStreamDestroy(stream);
    throw;
  }
  cudaStreamDestroy(stream);
  long diff = 0;
  for (size_t i = 0; i < actual.size(); ++i) diff += actual[i] != expected[i];
  return diff;
}

#else  // !TRICKLE_HAVE_CUDA

CudaRuntimeInfo QueryCudaRuntime() {
  CudaRuntimeInfo info;
  info.status = "built without CUDA";
  return info;
}

long CudaColorSelfTest(int, int, int) {
  throw NativeException("ERR_CUDA_UNAVAILABLE",
                        "trickle-rt was built without CUDA (TRICKLE_CUDA=OFF or no nvcc at build time); "
                        "rebuild with nvcc on PATH or install a prebuilt binary",
                        "CudaColorSelfTest");
}

#endif

}  // namespace trickle
