// Module init only. Every binding registers itself from native/bindings/.
#include <napi.h>

#include <cstdlib>
#include <cstring>

extern "C" {
#include <libavutil/log.h>
}

#include "bindings/bindings.h"
#include "bindings/pipeline_registry.h"

namespace {

// FFmpeg logs to stderr by default (x264 prints its statistics at INFO, every corrupt packet is an
// ERROR). trickle-rt reports failures through typed errors instead, so FFmpeg's own log is off
// unless TRICKLE_FFMPEG_LOGLEVEL asks for it (quiet|panic|fatal|error|warning|info|verbose|debug).
void ConfigureFfmpegLogging() {
  int level = AV_LOG_QUIET;
  if (const char* env = std::getenv("TRICKLE_FFMPEG_LOGLEVEL")) {
    static const struct { const char* name; int level; } kLevels[] = {
        {"quiet", AV_LOG_QUIET}, {"panic", AV_LOG_PANIC},     {"fatal", AV_LOG_FATAL},
        {"error", AV_LOG_ERROR}, {"warning", AV_LOG_WARNING}, {"info", AV_LOG_INFO},
        {"verbose", AV_LOG_VERBOSE}, {"debug", AV_LOG_DEBUG}};
    for (const auto& l : kLevels) {
      if (std::strcmp(env, l.name) == 0) level = l.level;
    }
  }
  av_log_set_level(level);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ConfigureFfmpegLogging();
  trickle::InitCapabilities(env, exports);
  trickle::InitProbe(env, exports);
  trickle::InitFrames(env, exports);
  trickle::InitEngine(env, exports);
  trickle::InitTensors(env, exports);
  trickle::InitDecoder(env, exports);
  trickle::InitEncoder(env, exports);
  trickle::InitPipelineRegistry(env, exports);
  trickle::InitGpuPolicy(env, exports);
  trickle::InitPageMemory(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(trickle_rt, Init)
