// JS handles for frames and frame pools. JS thread only.
//
// Ownership: a handle holds one std::shared_ptr reference to its immutable core frame.
// `close()` drops that reference (idempotent); the picture and its pool slot are released when the
// last holder (handle, encoder queue, in-flight job) lets go. Using a closed handle throws
// ERR_FRAME_CLOSED. The GC finalizer of a handle that was never closed counts a leak (in its pool's
// stats and in frameStats()), warns once on stderr and drops the reference: it is a leak detector,
// not the release path.
//
// Other bindings (decoder, encoder, inference) exchange frames with JS only through
// NewInstance/Unwrap below; each ObjectWrap class is private to its file (video_frame_wrap.cc,
// audio_frame_wrap.cc, frame_pool_wrap.cc) and frame_wrap.cc registers them.
#pragma once

#include <napi.h>

#include <memory>

#include "frame/audio_frame.h"
#include "frame/video_frame.h"

namespace trickle {

class VideoFrameWrap {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // A new JS handle holding `frame` (non-null).
  static Napi::Object NewInstance(Napi::Env env, VideoFramePtr frame);
  // The frame of a handle made by NewInstance. Throws a JS error with code ERR_FRAME_CLOSED when the
  // handle was closed and ERR_INVALID_ARG when `value` is not a video frame handle.
  static VideoFramePtr Unwrap(Napi::Value value);
  static bool IsHandle(Napi::Value value);
};

class AudioFrameWrap {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object NewInstance(Napi::Env env, AudioFramePtr frame);
  // Same contract as VideoFrameWrap::Unwrap.
  static AudioFramePtr Unwrap(Napi::Value value);
  static bool IsHandle(Napi::Value value);
};

// JS handle of a FramePool (shared with its producers). JS thread only; the pool itself is
// thread-safe.
class FramePoolWrap {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<FramePool> pool);
  // Throws ERR_INVALID_ARG when `value` is not a pool handle.
  static std::shared_ptr<FramePool> Unwrap(Napi::Value value);
  static bool IsHandle(Napi::Value value);
};

// Converts FramePoolStats to {capacity, live, free, leaked, acquiredTotal}.
Napi::Object FramePoolStatsToJs(Napi::Env env, const FramePoolStats& s);

}  // namespace trickle
