#include "common/nvml_stats.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

namespace trickle {
namespace {

// The NVML ABI pieces used here (stable since NVML's _v2 entry points; nvml.h is not needed).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDeviceOpaque*;
struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr int kNvmlTemperatureGpu = 0;
constexpr unsigned int kNameLength = 96;

struct NvmlLibrary {
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*count)(unsigned int*) = nullptr;
  nvmlReturn_t (*handle_by_index)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int*) = nullptr;
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int) = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;  // optional
  bool ok = false;
  std::string reason;
};

std::string Describe(const NvmlLibrary& lib, nvmlReturn_t r) {
  const char* s = lib.error_string ? lib.error_string(r) : nullptr;
  return s ? std::string(s) + " (" + std::to_string(r) + ")" : "NVML error " + std::to_string(r);
}

template <typename Fn>
bool Resolve(void* handle, const char* symbol, Fn* out, std::string* missing) {
  *out = reinterpret_cast<Fn>(dlsym(handle, symbol));
  if (!*out) *missing += std::string(missing->empty() ? "" : ", ") + symbol;
  return *out != nullptr;
}

NvmlLibrary Load(const std::string& soname) {
  NvmlLibrary lib;
  // RTLD_LOCAL, never closed: NVML stays initialised for the life of the process.
  void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    lib.reason = "NVML (" + soname + ") not found: " + (err ? err : "dlopen failed") + "; it comes with the NVIDIA driver";
    return lib;
  }
  std::string missing;
  Resolve(handle, "nvmlInit_v2", &lib.init, &missing);
  Resolve(handle, "nvmlDeviceGetCount_v2", &lib.count, &missing);
  Resolve(handle, "nvmlDeviceGetHandleByIndex_v2", &lib.handle_by_index, &missing);
  Resolve(handle, "nvmlDeviceGetUtilizationRates", &lib.utilization, &missing);
  Resolve(handle, "nvmlDeviceGetMemoryInfo", &lib.memory, &missing);
  Resolve(handle, "nvmlDeviceGetTemperature", &lib.temperature, &missing);
  Resolve(handle, "nvmlDeviceGetPowerUsage", &lib.power, &missing);
  Resolve(handle, "nvmlDeviceGetName", &lib.name, &missing);
  lib.error_string = reinterpret_cast<const char* (*)(nvmlReturn_t)>(dlsym(handle, "nvmlErrorString"));
  if (!missing.empty()) {
    lib.reason = soname + " lacks NVML entry points: " + missing;
    return lib;
  }
  const nvmlReturn_t r = lib.init();
  if (r != kNvmlSuccess) {
    lib.reason = "nvmlInit_v2 failed: " + Describe(lib, r);
    return lib;
  }
  lib.ok = true;
  return lib;
}

std::mutex& Mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

NvmlSnapshot ReadNvmlStats(const std::string& library) {
  const std::string soname = library.empty() ? "libnvidia-ml.so.1" : library;
  std::lock_guard<std::mutex> lock(Mutex());
  static std::map<std::string, NvmlLibrary> loaded;  // one load (and init) per soname
  auto it = loaded.find(soname);
  if (it == loaded.end()) it = loaded.emplace(soname, Load(soname)).first;
  const NvmlLibrary& lib = it->second;
  NvmlSnapshot snap;
  if (!lib.ok) {
    snap.reason = lib.reason;
    return snap;
  }
  unsigned int count = 0;
  nvmlReturn_t r = lib.count(&count);
  if (r != kNvmlSuccess) {
    snap.reason = "nvmlDeviceGetCount_v2 failed: " + Describe(lib, r);
    return snap;
  }
  snap.available = true;
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t dev = nullptr;
    if (lib.handle_by_index(i, &dev) != kNvmlSuccess) continue;  // e.g. a GPU the driver lost
    NvmlGpuStats g;
    g.index = static_cast<int>(i);
    char name[kNameLength] = {0};
    if (lib.name(dev, name, kNameLength) == kNvmlSuccess) g.name = std::string(name);
    nvmlMemory_t mem{};
    if (lib.memory(dev, &mem) == kNvmlSuccess) {
      g.memory_total = mem.total;
      g.memory_free = mem.free;
    }
    nvmlUtilization_t util{};
    if (lib.utilization(dev, &util) == kNvmlSuccess) {
      g.utilization_compute = static_cast<int>(util.gpu);
      g.utilization_memory = static_cast<int>(util.memory);
    }
    unsigned int temp = 0;
    if (lib.temperature(dev, kNvmlTemperatureGpu, &temp) == kNvmlSuccess) g.temperature_c = static_cast<int>(temp);
    unsigned int milliwatts = 0;
    if (lib.power(dev, &milliwatts) == kNvmlSuccess) g.power_w = milliwatts / 1000.0;
    snap.gpus.push_back(std::move(g));
  }
  return snap;
}

}  // namespace trickle
