// Audio half of a StreamEncoder: decoded audio encoded to AAC or Opus (samples gathered into the
// encoder's frame size), or compressed input audio passed through as is. Either way the packets go
// to the segment muxer in the 90 kHz output time base, shifted by the video's re-timing offset so
// that audio stays in step with the pictures. The audio encoder is opened at the first frame's
// layout and rate (Opus: 48 kHz when that rate is not one Opus takes); frames of another layout or
// rate are converted to it (frame/audio_convert.h). An audio failure disables audio (a warning), never the
// stream. No N-API.
//
// Threading: owned by the encoder thread; every method is called there.
#pragma once

#include <cstdint>
#include <vector>


#include "common/ffmpeg_handles.h"
#include "frame/audio_convert.h"
#include "frame/audio_frame.h"
#include "media/encoder_report.h"
#include "media/media_types.h"
#include "media/segment_muxer.h"
#include "media/stream_encoder_options.h"

namespace trickle {

class AudioTrack {
 public:
  AudioTrack(const StreamEncoderOptions& options, EncoderReport* report, SegmentMuxer* muxer);
  AudioTrack(const AudioTrack&) = delete;
  AudioTrack& operator=(const AudioTrack&) = delete;

  // Decoded audio (modes aac/opus; ignored otherwise). `pts_offset`: the video's re-timing (90 kHz).
  void Encode(const AudioFrame& a, int64_t pts_offset);
  // Compressed input audio (mode passthrough; ignored otherwise).
  void Remux(const AudioPacket& ap, int64_t pts_offset);
  // End of stream: pads the last frame with silence and drains the encoder. Errors lose the tail.
  void Flush();

 private:
  void OpenEncoder(const AudioFrame& a);
  // Appends `a`'s samples to the FIFO, converted to the encoder's layout and rate when they differ.
  void AppendConverted(const AudioFrame& a);
  // Appends what the converter still holds (end of stream, or before a change of input format).
  void DrainConverter();
  void SendFrame(int n);
  void Drain();

  const StreamEncoderOptions& opts_;
  EncoderReport* report_;
  SegmentMuxer* muxer_;
  UniqueAVCodecContext ctx_;   // kAac / kOpus
  bool failed_ = false;
  std::vector<std::vector<float>> fifo_;  // per channel
  int64_t next_pts_ = AV_NOPTS_VALUE;     // in 1/sample_rate
  UniqueAVFrame frame_ = MakeAVFrame();
  UniqueAVPacket pkt_ = MakeAVPacket();
  std::shared_ptr<const AudioStreamInfo> passthrough_info_;  // params of the passthrough stream
  UniqueSwrContext swr_;  // input format -> encoder format, when they differ
  int swr_in_channels_ = 0;
  int swr_in_rate_ = 0;
  std::vector<std::vector<float>> converted_;  // scratch output of swr_convert, per channel
};

}  // namespace trickle
