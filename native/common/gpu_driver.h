// NVIDIA driver discovery through FFmpeg's ffnvcodec loader (dlopen of libcuda.so.1,
// libnvcuvid.so.1, libnvidia-encode.so.1). Nothing here links against CUDA: it works the same in
// the CUDA-ON and CUDA-OFF builds and on machines without a driver.
// Threading: ProbeGpuDriver() is thread-safe; the result is computed once and cached.
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
  CodecEngineAvailability nvdec;  // H.264 8-bit 4:2:0 decode
  CodecEngineAvailability nvenc;  // an H.264 encode session could be opened
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

}  // namespace trickle
