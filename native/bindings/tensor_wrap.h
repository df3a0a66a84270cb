// JS handles for tensors. JS thread only. Same ownership rules as frames (frame_wrap.h): a handle
// holds one shared reference to an immutable-shape Tensor; close() drops it (idempotent); a closed
// handle throws ERR_CLOSED. Other bindings (inference) exchange tensors only through these.
#pragma once

#include <napi.h>

#include "frame/tensor.h"

namespace trickle {

class TensorWrap {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object NewInstance(Napi::Env env, TensorPtr tensor);
  // Throws ERR_CLOSED when closed, ERR_INVALID_ARG when `value` is not a tensor handle.
  static TensorPtr Unwrap(Napi::Value value);
  static bool IsHandle(Napi::Value value);
};

DType DTypeFromName(Napi::Env env, const std::string& name);

}  // namespace trickle
