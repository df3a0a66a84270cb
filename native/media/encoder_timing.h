// Time base and clock helpers shared by the parts of a StreamEncoder. No N-API.
#pragma once

#include <chrono>

extern "C" {
#include <libavutil/rational.h>
}

namespace trickle {

// Every packet leaves the encoder parts in MPEG-TS's 90 kHz time base.
constexpr AVRational kTsTimeBase{1, 90000};

inline double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace trickle
