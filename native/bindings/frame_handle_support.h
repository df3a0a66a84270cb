// Helpers shared by the frame binding files (video_frame_wrap.cc, audio_frame_wrap.cc,
// frame_pool_wrap.cc, frame_wrap.cc). JS thread only.
#pragma once

#include <napi.h>

#include <string>

#include "common/js_error.h"
#include "common/native_error.h"

extern "C" {
#include <libavutil/avutil.h>
}

namespace trickle {

// A handle collected by the GC without close(): counted for frameStats(), warned about once on
// stderr (frame_wrap.cc).
enum class LeakedHandle { kVideoFrame, kAudioFrame };
void CountLeakedHandle(LeakedHandle kind);

[[noreturn]] inline void ThrowCode(Napi::Env env, const char* code, const std::string& message) {
  throw ToJsError(env, NativeError{code, message, "", 0, false});
}

inline Napi::Array TimeBaseToJs(Napi::Env env, AVRational tb) {
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, tb.num);
  a.Set(1u, tb.den);
  return a;
}

inline Napi::Value PtsToJs(Napi::Env env, int64_t pts) {
  if (pts == AV_NOPTS_VALUE) return env.Null();
  return Napi::Number::New(env, static_cast<double>(pts));
}

}  // namespace trickle
