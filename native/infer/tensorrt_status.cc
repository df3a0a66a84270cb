#include "infer/tensorrt_status.h"

#include "infer/tensorrt_library.h"

#ifdef TRICKLE_HAVE_TENSORRT
#include <NvInferVersion.h>
#endif

namespace trickle {

TensorRtStatus QueryTensorRt() {
  TensorRtStatus s;
#ifdef TRICKLE_HAVE_TENSORRT
  s.compiled = true;
  s.header_version = std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." +
                     std::to_string(NV_TENSORRT_PATCH);
#endif
  // LoadTensorRt caches its single load attempt, so this stays cheap for capabilities().
  const TensorRtLibrary* lib = LoadTensorRt(&s.reason);
  if (lib) {
    s.available = true;
    s.version = TensorRtVersionString(lib->version);
    s.library = lib->soname;
  }
  return s;
}

}  // namespace trickle
