// Streaming encoder + MPEG-TS segmenter: VideoFrames (host or CUDA) and audio (decoded samples to
// encode, or compressed packets to remux) in; MPEG-TS bytes out, streamed chunk by chunk through a
// custom write callback while each segment is produced. A new segment starts at every video
// keyframe; keyframes are forced every `gop_seconds` of media time (and on the first frame), so each
// segment is a standalone TS: a fresh muxer writes PAT/PMT first, then the IDR (with SPS/PPS).
// This class owns the input queue and the encoder thread; the work is done by its parts:
// VideoEncoder (video_encoder.h), AudioTrack (audio_track.h) and SegmentMuxer (segment_muxer.h).
// No N-API.
//
// Threading: the constructor, the Submit*/End/Cancel/Join/Stats methods are called from the owner
// thread (the JS thread); encoding and muxing run on the encoder's own std::thread (Start()).
// The sink is called on the encoder thread only and may block (backpressure towards the encoder).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/native_error.h"
#include "frame/audio_frame.h"
#include "frame/video_frame.h"
#include "media/encoder_report.h"
#include "media/media_types.h"
#include "media/stream_encoder_options.h"

namespace trickle {

class StreamEncoder {
 public:
  // Throws NativeException ERR_ENCODER_UNAVAILABLE / ERR_NVENC_UNAVAILABLE for an encoder this build
  // or machine does not have; ERR_INVALID_ARG for options native code cannot use.
  StreamEncoder(const StreamEncoderOptions& options, StreamEncoderSink* sink);
  ~StreamEncoder();
  StreamEncoder(const StreamEncoder&) = delete;
  StreamEncoder& operator=(const StreamEncoder&) = delete;

  void Start();
  // Each returns false when the producer should wait for OnWritable before submitting more.
  bool SubmitVideo(VideoFramePtr frame);
  bool SubmitAudio(AudioFramePtr audio);
  bool SubmitAudioPacket(AudioPacketPtr packet);
  void End();  // drain: encode what is queued, flush, finish the last segment
  void Cancel();
  void Join();
  StreamEncoderStats Stats() const;

 private:
  struct Item {
    VideoFramePtr video;
    AudioFramePtr audio;
    AudioPacketPtr packet;
  };
  bool Submit(Item item);
  void Run();

  StreamEncoderOptions options_;
  StreamEncoderSink* sink_;
  EncoderReport report_;
  std::atomic<bool> cancelled_{false};
  std::thread thread_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Item> queue_;
  bool ended_ = false;
  bool producer_waiting_ = false;
};

}  // namespace trickle
