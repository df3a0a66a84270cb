// Conversion of NativeError into JS errors. JS thread only.
#pragma once

#include <napi.h>

#include "common/native_error.h"

namespace trickle {

// Builds an Error whose `code`, `op` and `nativeCode` properties the TypeScript layer
// (src/errors.ts, fromNativeError) turns into a TrickleError.
inline Napi::Error ToJsError(Napi::Env env, const NativeError& e) {
  Napi::Error err = Napi::Error::New(env, e.message);
  Napi::Object obj = err.Value();
  obj.Set("code", Napi::String::New(env, e.code));
  if (!e.op.empty()) obj.Set("op", Napi::String::New(env, e.op));
  if (e.has_native_code) obj.Set("nativeCode", Napi::Number::New(env, static_cast<double>(e.native_code)));
  return err;
}

inline void ThrowTypeError(Napi::Env env, const std::string& message) {
  Napi::TypeError err = Napi::TypeError::New(env, message);
  err.Value().Set("code", Napi::String::New(env, "ERR_INVALID_ARG"));
  throw err;
}

}  // namespace trickle
