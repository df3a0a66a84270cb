// Streaming encoder + MPEG-TS segmenter: VideoFrames (host or CUDA) and audio (decoded samples to
// encode, or compressed packets to remux) in; MPEG-TS bytes out, streamed chunk by chunk through a
// custom write callback while each segment is produced. A new segment starts at every video
// keyframe; keyframes are forced every `gop_seconds` of media time (and on the first frame), so each
// segment is a standalone TS: a fresh muxer writes PAT/PMT first, then the IDR (with SPS/PPS).
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
#include "media/media_types.h"

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
  int threads = 0;                  // 0: min(hardware threads, 8)
  AudioMode audio = AudioMode::kPassthrough;
  int64_t audio_bitrate = 96000;
  int max_queue = 16;               // items queued before Submit* asks the producer to wait
};

struct StreamEncoderStats {
  int64_t frames_in = 0;
  int64_t frames_encoded = 0;     // packets out of the video encoder
  int64_t keyframes = 0;
  int64_t segments = 0;
  int64_t bytes_out = 0;
  int64_t chunks_out = 0;
  int64_t retimed = 0;            // frames whose pts was moved forward to keep output monotonic
  int64_t downloads = 0;          // CUDA frames copied to host (x264 on a GPU without NVENC)
  int64_t download_bytes = 0;
  int64_t scaled = 0;             // frames converted with libswscale (size or pixel format)
  int64_t rejected = 0;           // frames that could not be encoded (see last_warning)
  int64_t audio_in = 0;
  int64_t audio_packets_out = 0;
  int64_t audio_dropped = 0;      // audio packets not muxed (before the first segment, or non-monotonic)
  double encode_ms = 0;           // time in the video encoder (send+receive)
  double download_ms = 0;
  double mux_ms = 0;
  std::string encoder;            // the encoder actually used
  int width = 0;
  int height = 0;
  std::string last_warning;
};

class StreamEncoderSink {
 public:
  virtual ~StreamEncoderSink() = default;
  // A chunk of segment `segment`: `start` is true for the first chunk of a segment. May block;
  // returns false when the consumer is gone (the encoder stops).
  virtual bool OnChunk(int64_t segment, bool start, std::vector<uint8_t>&& bytes) = 0;
  // Every byte of segment `segment` has been delivered.
  virtual bool OnSegmentEnd(int64_t segment) = 0;
  // The input queue drained: a producer told to wait may submit again. Must not block.
  virtual void OnWritable() = 0;
  // A recoverable problem (a frame rejected, audio disabled). Must not block.
  virtual void OnWarning(const NativeError& warning) = 0;
  // Last call, exactly once: error is null on a clean end.
  virtual void OnEnd(const NativeError* error) = 0;
};

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
  struct Impl;
  bool Submit(Item item);
  void Run();

  StreamEncoderOptions options_;
  StreamEncoderSink* sink_;
  std::atomic<bool> cancelled_{false};
  std::thread thread_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Item> queue_;
  bool ended_ = false;
  bool producer_waiting_ = false;

  mutable std::mutex stats_mu_;
  StreamEncoderStats stats_;
  friend struct Impl;
};

}  // namespace trickle
