// Whether the TensorRT backend is compiled in and whether its runtime (libnvinfer, dlopen'ed) can
// be loaded here. Thread-safe; the load attempt happens once.
#pragma once

#include <string>

namespace trickle {

struct TensorRtStatus {
  bool compiled = false;   // built with TensorRT headers (TRICKLE_TENSORRT_ROOT)
  bool available = false;  // libnvinfer loaded and its version matches the headers' major
  std::string version;     // runtime version "10.16.0" when loaded
  std::string header_version;  // version of the headers compiled against
  std::string library;     // the soname that was loaded
  std::string reason;      // why not available
};

TensorRtStatus QueryTensorRt();

}  // namespace trickle
