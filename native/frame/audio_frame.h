// Decoded or user-made audio: planar float32 samples. No N-API.
//
// Ownership: like VideoFrame, an AudioFrame is immutable after construction and always held through
// std::shared_ptr<const AudioFrame>: the JS handle holds one reference, in-flight jobs (encoder) hold
// others; JS `close()` drops only the JS reference. It owns one AVFrame in AV_SAMPLE_FMT_FLTP (so the
// encoder can consume it directly) and optionally a FramePool slot. Any thread may read it.
#pragma once

#include <cstdint>
#include <memory>

#include "common/ffmpeg_handles.h"
#include "frame/video_frame.h"

extern "C" {
#include <libavutil/rational.h>
#include <libavutil/samplefmt.h>
}

namespace trickle {

class AudioFrame {
 public:
  // `frame` must be AV_SAMPLE_FMT_FLTP with ch_layout, sample_rate and nb_samples set (throws
  // NativeException ERR_INVALID_ARG otherwise). Use FromAVFrame for other sample formats.
  AudioFrame(UniqueAVFrame frame, AVRational time_base, std::shared_ptr<FramePoolLease> lease = nullptr);
  ~AudioFrame();
  AudioFrame(const AudioFrame&) = delete;
  AudioFrame& operator=(const AudioFrame&) = delete;

  // Converts a decoded frame in FLTP, FLT, S16, S16P, S32 or S32P to planar float32 (plain loops,
  // exact: integer samples are divided by 2^15 / 2^31). Copies only when the format is not FLTP.
  static std::shared_ptr<const AudioFrame> FromAVFrame(UniqueAVFrame frame, AVRational time_base,
                                                       std::shared_ptr<FramePoolLease> lease = nullptr);
  // Zero-filled planar float32 frame to be written by its creator before it is shared.
  static UniqueAVFrame AllocateFltp(int channels, int samples, int sample_rate, int64_t pts);

  int sample_rate() const { return frame_->sample_rate; }
  int channels() const { return frame_->ch_layout.nb_channels; }
  int samples() const { return frame_->nb_samples; }  // per channel
  int64_t pts() const { return frame_->pts; }
  AVRational time_base() const { return time_base_; }
  const float* channel(int c) const { return reinterpret_cast<const float*>(frame_->extended_data[c]); }
  const AVFrame* av_frame() const { return frame_.get(); }

  // Number of AudioFrame objects alive in the process (all streams).
  static long alive();

 private:
  UniqueAVFrame frame_;
  AVRational time_base_;
  std::shared_ptr<FramePoolLease> lease_;
};

using AudioFramePtr = std::shared_ptr<const AudioFrame>;

}  // namespace trickle
