#include "infer/tensorrt_status.h"

#ifdef TRICKLE_HAVE_TENSORRT
#include <NvInferVersion.h>
#include <dlfcn.h>

#include <mutex>
#endif

namespace trickle {

#ifdef TRICKLE_HAVE_TENSORRT

namespace {

std::string VersionString(int v) {
  // getInferLibVersion() encodes MAJOR*10000 + MINOR*100 + PATCH (TensorRT 10/11).
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

TensorRtStatus Probe() {
  TensorRtStatus s;
  s.compiled = true;
  s.header_version = std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." +
                     std::to_string(NV_TENSORRT_PATCH);
  const std::string soname = "libnvinfer.so." + std::to_string(NV_TENSORRT_MAJOR);
  void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* err = dlerror();
    s.reason = "TensorRT runtime " + soname + " not found (" + (err ? err : "dlopen failed") +
               "); install TensorRT " + std::to_string(NV_TENSORRT_MAJOR) + ".x and add it to LD_LIBRARY_PATH";
    return s;
  }
  using GetVersionFn = int (*)();
  auto get_version = reinterpret_cast<GetVersionFn>(dlsym(lib, "getInferLibVersion"));
  if (!get_version) {
    s.reason = soname + " has no getInferLibVersion symbol";
    return s;
  }
  const int v = get_version();
  s.version = VersionString(v);
  s.library = soname;
  if (v / 10000 != NV_TENSORRT_MAJOR) {
    s.reason = "TensorRT runtime " + s.version + " does not match the headers' major version " + s.header_version;
    return s;
  }
  s.available = true;
  return s;  // the library stays loaded for the engine code
}

}  // namespace

TensorRtStatus QueryTensorRt() {
  static std::once_flag once;
  static TensorRtStatus status;
  std::call_once(once, [] { status = Probe(); });
  return status;
}

#else

TensorRtStatus QueryTensorRt() {
  TensorRtStatus s;
  s.reason = "built without TensorRT (no TRICKLE_TENSORRT_ROOT at build time)";
  return s;
}

#endif

}  // namespace trickle
