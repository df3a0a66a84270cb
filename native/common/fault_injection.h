// Injected failures for the tests of fallback paths that need hardware to fail for real (a GPU
// whose NVENC refuses a session). TRICKLE_RT_INJECT names the faults, comma-separated, read at each
// decision point (cheap: once per stream, not per frame):
//   nvenc-open-fails  encoder 'auto' takes the NVENC path and h264_nvenc fails to open, so the
//                     libx264 fallback runs (test/native/encoder-fallback.test.ts).
//   encoder-fails-at-frame-25  every StreamEncoder fails with ERR_ENCODE at its 25th video frame,
//                     as a GPU encoder that dies mid-stream (the stream pipeline's restarts,
//                     test/integration/pipeline-restart.test.ts).
// Unset in production; documented in docs/media.md. No N-API. Thread-safe (getenv only).
#pragma once

#include <cstdlib>
#include <cstring>

namespace trickle {

inline bool FaultInjected(const char* name) {
  const char* list = std::getenv("TRICKLE_RT_INJECT");
  if (!list || !*list) return false;
  const size_t n = std::strlen(name);
  for (const char* p = list; (p = std::strstr(p, name)) != nullptr; p += n) {
    const bool starts = p == list || p[-1] == ',';
    const bool ends = p[n] == '\0' || p[n] == ',';
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace trickle
