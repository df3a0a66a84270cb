// MPEG-TS segmenter of a StreamEncoder: packets of the video encoder and of the audio track in (all
// in the 90 kHz output time base), MPEG-TS bytes out to the sink, chunk by chunk. Every video
// keyframe starts a new segment: a fresh muxer writes PAT/PMT first, so each segment is a standalone
// TS. Audio that arrives while the open segment does not declare it is held and a cut is requested
// (see HoldAudio). No N-API.
//
// Threading: owned by the encoder thread; every method is called there.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "common/ffmpeg_handles.h"
#include "media/encoder_report.h"
#include "media/media_types.h"

namespace trickle {

class SegmentMuxer {
 public:
  explicit SegmentMuxer(EncoderReport* report);
  SegmentMuxer(const SegmentMuxer&) = delete;
  SegmentMuxer& operator=(const SegmentMuxer&) = delete;

  // The open video encoder whose parameters every segment declares (set once, before the first
  // video packet).
  void AttachVideo(const AVCodecContext* video) { video_ = video; }
  // The audio every later segment declares: compressed input audio remuxed as is (`passthrough`), or
  // the output of an audio encoder (`encoded`). Setting one clears the other.
  void SetPassthroughAudio(std::shared_ptr<const AudioStreamInfo> passthrough);
  void SetEncodedAudio(const AVCodecContext* encoded);

  // A packet of the video encoder (time base 90 kHz). A keyframe closes the open segment and opens
  // the next one; a packet before the first keyframe is dropped.
  void WriteVideo(AVPacket* pkt);
  // A packet of the audio encoder (90 kHz): muxed into the open segment, or held until one declares
  // the audio stream.
  void WriteEncodedAudio(AVPacket* p);
  // A passthrough packet of input audio `stream` (90 kHz): written when the open segment declares
  // exactly that stream, else held.
  void WritePassthroughAudio(AVPacket* p, const std::shared_ptr<const AudioStreamInfo>& stream);
  // Drops the held audio (counted in audio_dropped): the input's audio parameters changed.
  void DropHeldAudio();

  // True when held audio waits for a segment that declares it: the next video frame should be a
  // forced IDR (hence a new segment). ClearCutRequest once that frame went to the encoder.
  bool cut_requested() const { return cut_for_audio_; }
  void ClearCutRequest() { cut_for_audio_ = false; }

  // The end of the stream: closes the last segment; what is still held is counted as dropped.
  void Finish();

 private:
  static int WritePacket(void* opaque, uint8_t* buf, int size);
  void EmitPending();
  void OpenSegment();
  void CloseSegment();
  void WriteAudio(AVPacket* p);
  void HoldAudio(const AVPacket* p);
  void WriteHeldAudio();

  struct OutputContextDeleter {
    void operator()(AVFormatContext* c) const noexcept { avformat_free_context(c); }
  };

  EncoderReport* report_;
  const AVCodecContext* video_ = nullptr;
  std::shared_ptr<const AudioStreamInfo> passthrough_;  // params of the passthrough stream
  const AVCodecContext* encoded_audio_ = nullptr;

  std::unique_ptr<AVFormatContext, OutputContextDeleter> mux_;
  UniqueAVIOContext mux_io_;
  AVStream* mux_video_ = nullptr;
  AVStream* mux_audio_ = nullptr;
  std::shared_ptr<const AudioStreamInfo> mux_audio_info_;  // passthrough params of the open segment
  int64_t segment_ = -1;
  bool segment_first_chunk_ = false;
  std::vector<uint8_t> pending_;  // bytes written by the muxer since the last flush
  int64_t last_audio_dts_ = AV_NOPTS_VALUE;
  int64_t last_mux_video_dts_ = AV_NOPTS_VALUE;
  // Audio that arrived while the open segment had no audio stream (the first audio of a stream
  // usually comes after the first video frame opened segment 0, and an MPEG-TS stream list is fixed
  // once its header is written). It is held here, already in the output time base, a segment cut
  // is requested at the next video frame (forced IDR), and the new segment, which declares the
  // audio stream, starts with these packets. Bounded: the oldest are dropped beyond the limit.
  std::deque<UniqueAVPacket> held_audio_;
  bool cut_for_audio_ = false;
};

}  // namespace trickle
