#include "common/gpu_driver.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

// ffnvcodec logs load failures to stderr by default; a missing driver is an expected state here.
#define FFNV_LOG_FUNC(logctx, msg, ...) ((void)0)
#define FFNV_DEBUG_LOG_FUNC(logctx, msg, ...) ((void)0)
#include <ffnvcodec/dynlink_loader.h>

#include "common/cuda_primary_context.h"
#include "common/native_error.h"

namespace trickle {
namespace {

// One device being probed (the engines' results and the index the primary-context lock needs).
struct ProbedDevice {
  int index = 0;
  CodecEngineAvailability nvdec_result;
  CodecEngineAvailability nvenc_result;
};

// ffnvcodec's trimmed CUresult enum lacks CUDA_ERROR_NO_DEVICE; its value is fixed by the driver API.
constexpr int kCudaErrorNoDevice = 100;

std::string CuErrorText(CudaFunctions* cu, CUresult r) {
  const char* name = nullptr;
  if (cu && cu->cuGetErrorName) cu->cuGetErrorName(r, &name);
  return std::string(name ? name : "CUDA error") + " (" + std::to_string(static_cast<int>(r)) + ")";
}

// Runs `fn` with the device's primary context current; returns false with a reason when the
// context cannot be made current.
// The primary context's flags are set first (common/cuda_primary_context.h), under the same lock,
// so a probe that runs before FFmpeg's device never leaves it activated with flags FFmpeg refuses.
template <typename Fn>
bool WithPrimaryContext(CudaFunctions* cu, int index, CUdevice dev, std::string* reason, Fn fn) {
  std::lock_guard<std::mutex> ctx_lock(PrimaryContextLock());
  try {
    PreparePrimaryContextLocked(index);
  } catch (const NativeException& e) {
    *reason = e.error().message;
    return false;
  }
  CUcontext ctx = nullptr;
  CUresult r = cu->cuDevicePrimaryCtxRetain(&ctx, dev);
  if (r != CUDA_SUCCESS) {
    *reason = "cuDevicePrimaryCtxRetain failed: " + CuErrorText(cu, r);
    return false;
  }
  r = cu->cuCtxPushCurrent(ctx);
  if (r != CUDA_SUCCESS) {
    cu->cuDevicePrimaryCtxRelease(dev);
    *reason = "cuCtxPushCurrent failed: " + CuErrorText(cu, r);
    return false;
  }
  fn(ctx);
  CUcontext popped = nullptr;
  cu->cuCtxPopCurrent(&popped);
  cu->cuDevicePrimaryCtxRelease(dev);
  return true;
}

void ProbeNvdec(CudaFunctions* cu, CuvidFunctions* cuvid, CUdevice dev, ProbedDevice* out) {
  std::string reason;
  bool ok = WithPrimaryContext(cu, out->index, dev, &reason, [&](CUcontext) {
    CUVIDDECODECAPS caps;
    std::memset(&caps, 0, sizeof(caps));
    caps.eCodecType = cudaVideoCodec_H264;
    caps.eChromaFormat = cudaVideoChromaFormat_420;
    caps.nBitDepthMinus8 = 0;
    CUresult r = cuvid->cuvidGetDecoderCaps(&caps);
    if (r != CUDA_SUCCESS) {
      out->nvdec_result.reason = "cuvidGetDecoderCaps failed: " + CuErrorText(cu, r);
    } else if (!caps.bIsSupported) {
      out->nvdec_result.reason = "this GPU has no H.264 NVDEC support";
    } else {
      out->nvdec_result.available = true;
    }
  });
  if (!ok) out->nvdec_result.reason = reason;
}

void ProbeNvenc(CudaFunctions* cu, NvencFunctions* nvenc, CUdevice dev, ProbedDevice* out) {
  uint32_t max_version = 0;
  NVENCSTATUS st = nvenc->NvEncodeAPIGetMaxSupportedVersion(&max_version);
  if (st != NV_ENC_SUCCESS) {
    out->nvenc_result.reason = "NvEncodeAPIGetMaxSupportedVersion failed (" + std::to_string(st) + ")";
    return;
  }
  const uint32_t needed = (NVENCAPI_MAJOR_VERSION << 4) | NVENCAPI_MINOR_VERSION;
  if (max_version < needed) {
    out->nvenc_result.reason = "the NVIDIA driver's NVENC API " + std::to_string(max_version >> 4) + "." +
                        std::to_string(max_version & 0xf) + " is older than the " +
                        std::to_string(NVENCAPI_MAJOR_VERSION) + "." + std::to_string(NVENCAPI_MINOR_VERSION) +
                        " this build needs; update the driver";
    return;
  }
  NV_ENCODE_API_FUNCTION_LIST fns;
  std::memset(&fns, 0, sizeof(fns));
  fns.version = NV_ENCODE_API_FUNCTION_LIST_VER;
  st = nvenc->NvEncodeAPICreateInstance(&fns);
  if (st != NV_ENC_SUCCESS || !fns.nvEncOpenEncodeSessionEx || !fns.nvEncDestroyEncoder) {
    out->nvenc_result.reason = "NvEncodeAPICreateInstance failed (" + std::to_string(st) + ")";
    return;
  }
  std::string reason;
  bool ok = WithPrimaryContext(cu, out->index, dev, &reason, [&](CUcontext ctx) {
    NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS params;
    std::memset(&params, 0, sizeof(params));
    params.version = NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER;
    params.deviceType = NV_ENC_DEVICE_TYPE_CUDA;
    params.device = ctx;
    params.apiVersion = NVENCAPI_VERSION;
    void* encoder = nullptr;
    NVENCSTATUS s = fns.nvEncOpenEncodeSessionEx(&params, &encoder);
    if (s == NV_ENC_SUCCESS && encoder) {
      fns.nvEncDestroyEncoder(encoder);
      out->nvenc_result.available = true;
    } else if (s == NV_ENC_ERR_NO_ENCODE_DEVICE || s == NV_ENC_ERR_UNSUPPORTED_DEVICE) {
      out->nvenc_result.reason = "this GPU has no NVENC engine (e.g. H100, H200, A100)";
    } else {
      out->nvenc_result.reason = "nvEncOpenEncodeSessionEx failed (NVENCSTATUS " + std::to_string(s) + ")";
    }
  });
  if (!ok) out->nvenc_result.reason = reason;
}

// The function tables, loaded by DoProbe and kept for the process.
CudaFunctions* g_cu = nullptr;
CuvidFunctions* g_cuvid = nullptr;
NvencFunctions* g_nvenc = nullptr;

GpuDriverInfo DoProbe() {
  GpuDriverInfo info;
  CudaFunctions* cu = nullptr;
  if (cuda_load_functions(&cu, nullptr) < 0) {
    info.driver_error = "libcuda.so.1 not loadable: no NVIDIA driver installed (GPU features disabled)";
    return info;
  }
  CuvidFunctions* cuvid = nullptr;
  NvencFunctions* nvenc = nullptr;
  info.nvdec_library = cuvid_load_functions(&cuvid, nullptr) >= 0;
  if (!info.nvdec_library) info.nvdec_library_error = "libnvcuvid.so.1 not loadable (NVIDIA driver without NVDEC library)";
  info.nvenc_library = nvenc_load_functions(&nvenc, nullptr) >= 0;
  if (!info.nvenc_library) info.nvenc_library_error = "libnvidia-encode.so.1 not loadable (NVIDIA driver without NVENC library)";

  CUresult r = cu->cuInit(0);
  if (r != CUDA_SUCCESS) {
    info.driver_error = "cuInit failed: " + CuErrorText(cu, r) +
                        (static_cast<int>(r) == kCudaErrorNoDevice ? " (no CUDA device)" : "");
  } else {
    info.driver_loaded = true;
    // cuDriverGetVersion and cuDeviceTotalMem_v2 are not in ffnvcodec's table; look them up in
    // the libcuda that cuda_load_functions already loaded (RTLD_NOLOAD: never a second copy).
    using DriverGetVersionFn = CUresult (*)(int*);
    using TotalMemFn = CUresult (*)(size_t*, CUdevice);
    DriverGetVersionFn get_version = nullptr;
    TotalMemFn total_mem = nullptr;
    void* libcuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (libcuda) {
      get_version = reinterpret_cast<DriverGetVersionFn>(dlsym(libcuda, "cuDriverGetVersion"));
      total_mem = reinterpret_cast<TotalMemFn>(dlsym(libcuda, "cuDeviceTotalMem_v2"));
    }
    if (get_version) get_version(&info.driver_version);
    int count = 0;
    r = cu->cuDeviceGetCount(&count);
    if (r != CUDA_SUCCESS) count = 0;
    for (int i = 0; i < count; ++i) {
      CUdevice dev = 0;
      if (cu->cuDeviceGet(&dev, i) != CUDA_SUCCESS) continue;
      GpuDeviceInfo d;
      d.index = i;
      char name[256] = {0};
      cu->cuDeviceGetName(name, sizeof(name) - 1, dev);
      d.name = name;
      cu->cuDeviceComputeCapability(&d.compute_major, &d.compute_minor, dev);
      if (total_mem) total_mem(&d.total_memory, dev);
      info.devices.push_back(std::move(d));
    }
    if (libcuda) dlclose(libcuda);  // drops only the NOLOAD reference; libcuda stays loaded
  }
  // The function tables are kept loaded for the life of the process: FFmpeg's hwaccel loads its
  // own copies, and unloading libcuda while other code may hold contexts is unsafe.
  g_cu = info.driver_loaded ? cu : nullptr;
  g_cuvid = cuvid;
  g_nvenc = nvenc;
  return info;
}

enum class Engine { kNvdec, kNvenc };

CodecEngineAvailability ProbeEngine(Engine engine, int index) {
  static std::mutex mu;
  static std::map<std::pair<int, int>, CodecEngineAvailability> cache;
  const GpuDriverInfo& drv = ProbeGpuDriver();
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_pair(static_cast<int>(engine), index);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  ProbedDevice d;
  d.index = index;
  CodecEngineAvailability* out = engine == Engine::kNvdec ? &d.nvdec_result : &d.nvenc_result;
  CUdevice dev = 0;
  if (!drv.driver_loaded) {
    out->reason = drv.driver_error.empty() ? "no NVIDIA driver" : drv.driver_error;
  } else if (index < 0 || index >= static_cast<int>(drv.devices.size()) || g_cu->cuDeviceGet(&dev, index) != CUDA_SUCCESS) {
    out->reason = "no CUDA device " + std::to_string(index);
  } else if (engine == Engine::kNvdec) {
    if (g_cuvid) ProbeNvdec(g_cu, g_cuvid, dev, &d);
    else out->reason = drv.nvdec_library_error;
  } else {
    if (g_nvenc) ProbeNvenc(g_cu, g_nvenc, dev, &d);
    else out->reason = drv.nvenc_library_error;
  }
  cache.emplace(key, *out);
  return *out;
}

}  // namespace

const GpuDriverInfo& ProbeGpuDriver() {
  static std::once_flag once;
  static GpuDriverInfo info;
  std::call_once(once, [] { info = DoProbe(); });
  return info;
}

CodecEngineAvailability NvdecOn(int index) { return ProbeEngine(Engine::kNvdec, index); }
CodecEngineAvailability NvencOn(int index) { return ProbeEngine(Engine::kNvenc, index); }

}  // namespace trickle
