// Options of a StreamEncoder, shared by its parts (video encoder, audio track). No N-API.
#pragma once

#include <cstdint>
#include <string>

namespace trickle {

enum class AudioMode { kNone, kPassthrough, kAac, kOpus };

struct StreamEncoderOptions {
  std::string encoder = "libx264";  // libx264 | h264_nvenc | auto
  int width = 0;                    // output size; 0: the first frame's size
  int height = 0;
  int64_t bitrate = 0;              // bits/s; 0: encoder default quality (x264 crf 23)
  std::string preset = "superfast"; // x264 preset; for NVENC mapped to p1..p7
  std::string tune = "zerolatency";
  std::string profile = "high";
  double gop_seconds = 2.0;         // keyframe (= segment) interval in media time
  double fps = 30;                  // nominal frame rate: rate control, and the step used to re-time
  int threads = 0;                  // 0: DefaultEncoderThreads (cores / live encoders, frame size)
  AudioMode audio = AudioMode::kPassthrough;
  int64_t audio_bitrate = 96000;
  int max_queue = 16;               // items queued before Submit* asks the producer to wait
};

}  // namespace trickle
