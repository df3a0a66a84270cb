// What the parts of a StreamEncoder report: the counters (StreamEncoderStats), the sink the bytes,
// warnings and the end go to (StreamEncoderSink), and EncoderReport, which the video encoder, the
// audio track and the segment muxer share to update the counters and raise warnings. No N-API.
//
// Threading: EncoderReport::Update/Warn are called on the encoder thread; Snapshot on any thread
// (the counters are guarded by a mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/native_error.h"

namespace trickle {

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
  int64_t audio_converted = 0;    // audio frames converted to the output's layout/rate (libswresample)
  double encode_ms = 0;           // time in the video encoder (send+receive)
  double download_ms = 0;
  double mux_ms = 0;
  std::string encoder;            // the encoder actually used
  std::string encoder_reason;     // why 'auto' did not use NVENC (empty when it did or was not asked)
  int64_t encoder_held = 0;       // frames sent to the video encoder whose packet has not come out yet
  int width = 0;
  int height = 0;
  int threads = 0;                // the video encoder's thread count (0 until it is open)
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

class EncoderReport {
 public:
  explicit EncoderReport(StreamEncoderSink* sink) : sink_(sink) {}
  EncoderReport(const EncoderReport&) = delete;
  EncoderReport& operator=(const EncoderReport&) = delete;

  StreamEncoderSink* sink() const { return sink_; }

  template <typename Fn>
  void Update(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn(stats_);
  }

  StreamEncoderStats Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  // Records `message` as the last warning and hands it to the sink.
  void Warn(const std::string& code, const std::string& message, const std::string& op) {
    Update([&](StreamEncoderStats& s) { s.last_warning = message; });
    sink_->OnWarning(NativeError{code, message, op, 0, false});
  }

 private:
  StreamEncoderSink* sink_;
  mutable std::mutex mu_;
  StreamEncoderStats stats_;
};

}  // namespace trickle
