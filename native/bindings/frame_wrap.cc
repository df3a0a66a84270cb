// Frame bindings, module level: registration of the three frame handles (video_frame_wrap.cc,
// audio_frame_wrap.cc, frame_pool_wrap.cc), the leak accounting their finalizers report to, and
// frameStats(). JS thread only (the counters are atomics).
#include "bindings/frame_wrap.h"

#include <atomic>
#include <cstdio>

#include "bindings/bindings.h"
#include "bindings/frame_handle_support.h"

namespace trickle {
namespace {

std::atomic<long> g_video_leaked{0};
std::atomic<long> g_audio_leaked{0};
std::atomic<bool> g_leak_warned{false};

}  // namespace

void CountLeakedHandle(LeakedHandle kind) {
  const bool video = kind == LeakedHandle::kVideoFrame;
  (video ? g_video_leaked : g_audio_leaked).fetch_add(1, std::memory_order_relaxed);
  if (!g_leak_warned.exchange(true)) {
    std::fprintf(stderr,
                 "trickle-rt: warning: a %s was garbage-collected without close(); its memory was released "
                 "late. Close frames when done (`using frame = ...` or frame.close()). Leaks are counted in "
                 "frameStats().\n",
                 video ? "VideoFrame" : "AudioFrame");
  }
}

// ---- module-level ----------------------------------------------------------------------------------

namespace {

// frameStats(): process-wide counts of core frames alive and of handles collected without close().
Napi::Value FrameStatsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("videoFramesAlive", static_cast<double>(VideoFrame::alive()));
  o.Set("audioFramesAlive", static_cast<double>(AudioFrame::alive()));
  o.Set("videoFramesLeaked", static_cast<double>(g_video_leaked.load()));
  o.Set("audioFramesLeaked", static_cast<double>(g_audio_leaked.load()));
  return o;
}

}  // namespace

void InitFrames(Napi::Env env, Napi::Object exports) {
  VideoFrameWrap::Init(env, exports);
  AudioFrameWrap::Init(env, exports);
  FramePoolWrap::Init(env, exports);
  exports.Set("frameStats", Napi::Function::New(env, FrameStatsJs, "frameStats"));
}

}  // namespace trickle
