// Channel layout and sample rate conversion of planar float32 audio with libswresample, shared by
// the encoder's audio track (a converter kept across frames) and AudioFrame.convert (one frame).
// Layouts are FFmpeg's default layout for a channel count. Mono into stereo is duplicated at unity
// gain (libswresample's default puts it at -3 dB in each); other layouts use libswresample's
// default matrix, normalised so that a mix never exceeds the loudest input channel. No N-API.
#pragma once

#include <memory>

#include "frame/audio_frame.h"

extern "C" {
struct SwrContext;
}

namespace trickle {

struct SwrContextDeleter {
  void operator()(SwrContext* s) const;
};
using UniqueSwrContext = std::unique_ptr<SwrContext, SwrContextDeleter>;

// An initialised FLTP -> FLTP converter. Throws NativeException ERR_INVALID_ARG for channel counts
// outside 1..8 or non-positive rates, ERR_ENCODE when libswresample refuses.
UniqueSwrContext OpenAudioConverter(int in_channels, int in_rate, int out_channels, int out_rate);

// `in` converted to `channels` × `sample_rate`, whole (the converter is flushed: the output has
// about samples × sample_rate / in_rate samples). pts and time base are kept.
AudioFramePtr ConvertAudioFrame(const AudioFrame& in, int channels, int sample_rate);

}  // namespace trickle
