// GPU utilisation from NVML (the driver's management library), for `/hardware/stats`.
// libnvidia-ml.so.1 is loaded with dlopen at the first call, never linked: a machine without the
// NVIDIA driver gets an empty list and the reason. Only the few entry points used are resolved.
// The library is initialised once and never shut down (other users in the process may hold it).
// No N-API. Thread-safe (one mutex around the NVML calls).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trickle {

struct NvmlGpuStats {
  int index = 0;
  std::string name;
  uint64_t memory_total = 0;   // bytes
  uint64_t memory_free = 0;    // bytes
  int utilization_compute = -1;  // percent over the driver's last sample period; -1: not reported
  int utilization_memory = -1;   // percent of time memory was read or written; -1: not reported
  int temperature_c = -1;        // GPU core, degrees C; -1: not reported
  double power_w = -1;           // board power draw in watts; -1: not reported
};

struct NvmlSnapshot {
  bool available = false;
  std::string reason;  // why there are no stats (when !available)
  std::vector<NvmlGpuStats> gpus;
};

// Reads every GPU NVML sees. `library` overrides the soname (tests); empty: libnvidia-ml.so.1.
NvmlSnapshot ReadNvmlStats(const std::string& library = "");

}  // namespace trickle
