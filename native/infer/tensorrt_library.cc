#include "infer/tensorrt_library.h"

#ifdef TRICKLE_HAVE_TENSORRT
#include <NvInferVersion.h>
#include <dlfcn.h>

#include <mutex>
#endif

namespace trickle {

std::string TensorRtVersionString(int v) {
  // getInferLibVersion() encodes MAJOR*10000 + MINOR*100 + PATCH (TensorRT 10 and 11).
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

#ifdef TRICKLE_HAVE_TENSORRT

namespace {

std::string DlError(const char* fallback) {
  const char* err = dlerror();
  return err ? err : fallback;
}

struct TrtLoad {
  TensorRtLibrary lib;
  bool ok = false;
  std::string reason;
};

TrtLoad LoadNvinfer() {
  TrtLoad r;
  const std::string major = std::to_string(NV_TENSORRT_MAJOR);
  const std::string soname = "libnvinfer.so." + major;
  // RTLD_LOCAL: TensorRT's symbols stay out of the global namespace (other addons may load another
  // TensorRT). The handle is never closed, on purpose (see the header).
  void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    r.reason = "TensorRT runtime " + soname + " not found (" + DlError("dlopen failed") + "); install TensorRT " +
               major + ".x and add its lib/ folder to LD_LIBRARY_PATH";
    return r;
  }
  auto version = reinterpret_cast<TensorRtLibrary::VersionFn>(dlsym(handle, "getInferLibVersion"));
  auto runtime = reinterpret_cast<TensorRtLibrary::CreateFn>(dlsym(handle, "createInferRuntime_INTERNAL"));
  auto builder = reinterpret_cast<TensorRtLibrary::CreateFn>(dlsym(handle, "createInferBuilder_INTERNAL"));
  if (!version || !runtime || !builder) {
    r.reason = soname + " lacks the TensorRT factory symbols (getInferLibVersion, createInferRuntime_INTERNAL, "
               "createInferBuilder_INTERNAL): not a TensorRT runtime library";
    return r;
  }
  r.lib.soname = soname;
  r.lib.version = version();
  r.lib.create_runtime = runtime;
  r.lib.create_builder = builder;
  if (r.lib.version / 10000 != NV_TENSORRT_MAJOR) {
    r.reason = "TensorRT runtime " + TensorRtVersionString(r.lib.version) + " (" + soname +
               ") does not match the major version of the headers this addon was built with (" + major + ")";
    return r;
  }
  r.ok = true;
  return r;
}

struct ParserLoad {
  OnnxParserLibrary lib;
  bool ok = false;
  std::string reason;
};

ParserLoad LoadNvonnxparser() {
  ParserLoad r;
  const std::string major = std::to_string(NV_TENSORRT_MAJOR);
  const std::string soname = "libnvonnxparser.so." + major;
  void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    r.reason = "TensorRT ONNX parser " + soname + " not found (" + DlError("dlopen failed") +
               "); it ships with TensorRT " + major + ".x (lib/ folder on LD_LIBRARY_PATH), or load a prebuilt .engine file";
    return r;
  }
  auto create = reinterpret_cast<OnnxParserLibrary::CreateFn>(dlsym(handle, "createNvOnnxParser_INTERNAL"));
  if (!create) {
    r.reason = soname + " has no createNvOnnxParser_INTERNAL symbol";
    return r;
  }
  r.lib.soname = soname;
  r.lib.create_parser = create;
  r.ok = true;
  return r;
}

}  // namespace

const TensorRtLibrary* LoadTensorRt(std::string* reason) {
  static std::once_flag once;
  static TrtLoad load;
  std::call_once(once, [] { load = LoadNvinfer(); });
  if (!load.ok) {
    if (reason) *reason = load.reason;
    return nullptr;
  }
  return &load.lib;
}

const OnnxParserLibrary* LoadOnnxParser(std::string* reason) {
  std::string trt_reason;
  if (!LoadTensorRt(&trt_reason)) {  // the parser needs libnvinfer (its own NEEDED entry) anyway
    if (reason) *reason = trt_reason;
    return nullptr;
  }
  static std::once_flag once;
  static ParserLoad load;
  std::call_once(once, [] { load = LoadNvonnxparser(); });
  if (!load.ok) {
    if (reason) *reason = load.reason;
    return nullptr;
  }
  return &load.lib;
}

#else

const TensorRtLibrary* LoadTensorRt(std::string* reason) {
  if (reason) *reason = "built without TensorRT (no TRICKLE_TENSORRT_ROOT at build time)";
  return nullptr;
}

const OnnxParserLibrary* LoadOnnxParser(std::string* reason) { return LoadTensorRt(reason), nullptr; }

#endif

}  // namespace trickle
