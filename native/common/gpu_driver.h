// NVIDIA driver discovery through FFmpeg's ffnvcodec loader (dlopen of libcuda.so.1,
// libnvcuvid.so.1, libnvidia-encode.so.1). Nothing here links against CUDA: it works the same in
// the CUDA-ON and CUDA-OFF builds and on machines without a driver.
// Threading: thread-safe. ProbeGpuDriver() (driver, device list) is computed once and cached;
// NvdecOn/NvencOn probe one device the first time it is asked about (a context and, for NVENC, an
// encode session on that device only) and cache the answer: a process that decodes on GPU 0 never
// opens anything on the other GPUs.
#pragma once

#include <string>
#include <vector>

namespace trickle {

struct CodecEngineAvailability {
  bool available = false;
  std::string reason;  // why not, when !available
};

struct GpuDeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  size_t total_memory = 0;
};

struct GpuDriverInfo {
  bool driver_loaded = false;
  std::string driver_error;  // e.g. "libcuda.so.1 not loadable (no NVIDIA driver)"
  int driver_version = 0;    // cuDriverGetVersion style, e.g. 13000
  std::vector<GpuDeviceInfo> devices;
  bool nvdec_library = false;  // libnvcuvid.so.1 loadable
  bool nvenc_library = false;  // libnvidia-encode.so.1 loadable
  std::string nvdec_library_error;
  std::string nvenc_library_error;
};

const GpuDriverInfo& ProbeGpuDriver();

// H.264 8-bit 4:2:0 NVDEC decode on device `index` (probed on first use, then cached).
CodecEngineAvailability NvdecOn(int index);
// An H.264 NVENC session could be opened on device `index` (probed on first use, then cached).
CodecEngineAvailability NvencOn(int index);

}  // namespace trickle
