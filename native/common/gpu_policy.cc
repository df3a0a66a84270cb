#include "common/gpu_policy.h"

#include <algorithm>

namespace trickle {

PrimaryContextAction DecidePrimaryContext(bool active, unsigned flags) {
  if (flags == kPrimaryContextFlags) return PrimaryContextAction::kUse;
  // Flags of an inactive primary context may be changed; an active one keeps what it was made with.
  return active ? PrimaryContextAction::kIncompatible : PrimaryContextAction::kSetFlags;
}

DriverFloor DriverFloorFor(int runtime_version) {
  DriverFloor f;
  f.runtime_version = runtime_version;
  const int major = runtime_version / 1000;
  f.min_driver_api = major * 1000;
  if (major >= 13) f.min_driver_branch = "R580 (580.65.06 or newer)";
  else if (major == 12) f.min_driver_branch = "R525 (525.60.13 or newer)";
  else if (major == 11) f.min_driver_branch = "R450 (450.80.02 or newer)";
  else f.min_driver_branch = "unknown";
  return f;
}

bool DriverRunsRuntime(int driver_api_version, int runtime_version) {
  if (driver_api_version <= 0 || runtime_version <= 0) return false;
  return driver_api_version / 1000 >= runtime_version / 1000;
}

DecodeDeviceChoice ChooseDecodeDevice(DecodeRequest request, int index, const DecodeDeviceFacts& f) {
  DecodeDeviceChoice c;
  if (request == DecodeRequest::kCpu) return c;
  std::string why;
  if (!f.driver_loaded) why = f.driver_error.empty() ? "no NVIDIA driver" : f.driver_error;
  else if (index < 0 || index >= f.device_count) why = "no CUDA device " + std::to_string(index);
  else if (!f.nvdec_available) why = f.nvdec_reason.empty() ? "NVDEC is not available" : f.nvdec_reason;
  else if (!f.kernels_usable) why = "CUDA kernels cannot run there (" + f.kernels_reason + "), so NVDEC frames could not be converted";
  if (why.empty()) {
    c.use_nvdec = true;
    return c;
  }
  c.reason = why;
  c.error = request == DecodeRequest::kCuda;
  return c;
}

int PlaceOnDevice(const std::vector<bool>& capable, const std::vector<int>& live) {
  int best = -1;
  for (size_t i = 0; i < capable.size(); ++i) {
    if (!capable[i]) continue;
    const int load = i < live.size() ? live[i] : 0;
    const int best_load = best < 0 ? 0 : (static_cast<size_t>(best) < live.size() ? live[best] : 0);
    if (best < 0 || load < best_load) best = static_cast<int>(i);
  }
  return best;
}

int NvdecSurfaces(int dpb_frames) { return std::max(0, dpb_frames) + 2 + kNvdecExtraSurfaces; }
bool NvdecSurfacesFit(int dpb_frames) { return NvdecSurfaces(dpb_frames) <= kNvdecMaxSurfaces; }

NvencChoice ChooseEncoder(const NvencInputFacts& f) {
  NvencChoice c;
  if (!f.build_has_nvenc) c.reason = "this FFmpeg build has no h264_nvenc encoder";
  else if (!f.cuda_frame) c.reason = "the frames are in host memory (NVENC is chosen for CUDA frames)";
  else if (f.sw_format != "nv12" && f.sw_format != "yuv420p")
    c.reason = "H.264 NVENC takes 8-bit 4:2:0 frames (nv12, yuv420p), not " + f.sw_format;
  else if (f.width > kNvencH264MaxSide || f.height > kNvencH264MaxSide)
    c.reason = "H.264 NVENC encodes up to 4096x4096, not " + std::to_string(f.width) + "x" + std::to_string(f.height);
  else if (!f.device_has_nvenc) c.reason = f.device_reason.empty() ? "the frame's GPU has no NVENC" : f.device_reason;
  else c.use_nvenc = true;
  return c;
}

int MaxExecutionContexts(int64_t free_bytes, int64_t per_context_bytes) {
  if (per_context_bytes <= 0) return kMaxExecutionContexts;
  const int64_t fit = (free_bytes / 2) / per_context_bytes;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(kMaxExecutionContexts, fit)));
}

}  // namespace trickle
