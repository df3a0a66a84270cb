// Decodes every video frame of an in-memory container and summarises it. A one-shot job (run on a
// worker thread by the binding); pure C++, no N-API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace trickle {

struct VideoSummary {
  std::string codec;
  int width = 0;
  int height = 0;
  long frames = 0;
  bool has_first_pts = false;
  int64_t first_pts = 0;  // best-effort timestamp of the first decoded frame, in time_base units
  int time_base_num = 0;
  int time_base_den = 1;
  long decode_errors = 0;  // packets the decoder rejected (corrupt data); decoding went on
};

// Throws NativeException: ERR_DEMUX (not a container), ERR_NO_VIDEO_STREAM, ERR_DECODER_UNAVAILABLE.
VideoSummary SummarizeVideo(const uint8_t* data, size_t size);

}  // namespace trickle
