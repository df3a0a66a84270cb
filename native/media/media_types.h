// Compressed-audio types for passthrough (decoder -> encoder without re-encoding). Frames are
// VideoFrame / AudioFrame (frame/video_frame.h, frame/audio_frame.h).
// No N-API. Immutable after construction, so they may be shared across threads.
#pragma once

#include <cstdint>
#include <memory>

#include "common/ffmpeg_handles.h"

extern "C" {
#include <libavcodec/codec_par.h>
#include <libavutil/rational.h>
}

namespace trickle {

struct AVCodecParametersDeleter {
  void operator()(AVCodecParameters* p) const noexcept { avcodec_parameters_free(&p); }
};
using UniqueAVCodecParameters = std::unique_ptr<AVCodecParameters, AVCodecParametersDeleter>;

// The parameters of one demuxed audio stream, shared by all its packets (so that an encoder can
// remux them without re-encoding).
struct AudioStreamInfo {
  UniqueAVCodecParameters par;
  AVRational time_base{1, 90000};
  int generation = 0;  // changes when the input's audio stream changes (decoder reset)
};

// One compressed audio packet of the input, for passthrough.
struct AudioPacket {
  UniqueAVPacket packet;
  std::shared_ptr<const AudioStreamInfo> stream;
};
using AudioPacketPtr = std::shared_ptr<const AudioPacket>;

}  // namespace trickle
