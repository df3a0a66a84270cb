// Streaming demuxer + decoder: bytes pushed by the producer (JS) as they arrive, a continuous byte
// stream (e.g. MPEG-TS across trickle segments), out come VideoFrames (host, or CUDA frames kept in
// device memory when NVDEC is used), decoded audio (planar float32) and, on request, the compressed
// audio packets for passthrough. No N-API.
//
// Threading: the constructor, Push(), End(), Cancel(), Join() and Stats() are called from the owner
// thread (the JS thread); everything else runs on the decoder's own std::thread (Start()). The sink
// is called on the decode thread only, and may block (that is the backpressure towards the
// decoder); Cancel() must make a blocked sink return.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/ffmpeg_handles.h"
#include "common/native_error.h"
#include "frame/audio_frame.h"
#include "frame/video_frame.h"
#include "media/byte_queue.h"
#include "media/media_types.h"

namespace trickle {

enum class DecodeDevice { kAuto, kCpu, kCuda };

struct StreamDecoderOptions {
  DecodeDevice device = DecodeDevice::kAuto;
  int cuda_index = 0;                            // for kCuda
  int pool_size = 8;                             // VideoFrames alive at once (held by JS + queued)
  size_t max_buffered_bytes = 4 * 1024 * 1024;   // input byte queue capacity
  bool video = true;
  bool audio_frames = true;    // decode audio into DecodedAudio
  bool audio_packets = false;  // hand out compressed audio packets (passthrough)
  std::string format;          // container short name ("mpegts"); empty: probe
  int threads = 0;             // software decoder threads (0: from cores and live decoders, DefaultDecoderThreads)
  // Input backlog bound (live MPEG-TS path): when the oldest video access unit not yet decoded has
  // waited longer than this since its bytes were pushed, the queued video up to the newest queued
  // keyframe is skipped; with no keyframe queued, once it waited 4 times as long, all of it and
  // what follows up to the next keyframe. Audio is never skipped. 0: no bound.
  double max_backlog_ms = 0;
};

// Software decoder threads when the caller does not say: slice threads only pay while cores are
// idle, so min(4, cores / live decoders), 1 once there are as many live decoders as cores.
int DefaultDecoderThreads();

struct StreamDecoderStats {
  uint64_t bytes_in = 0;
  int64_t video_frames = 0;
  int64_t audio_frames = 0;
  int64_t audio_packets = 0;
  int64_t decode_errors = 0;     // packets/frames the decoder rejected or flagged corrupt
  int64_t dropped_frames = 0;    // frames dropped while waiting for a keyframe after an error
  int64_t resets = 0;            // decoder re-opened (codec or stream change)
  int64_t resolution_changes = 0;
  int64_t demux_errors = 0;
  int64_t backlog_skipped_frames = 0;  // video access units skipped undecoded (input backlog bound)
  int64_t backlog_skips = 0;           // times the backlog bound skipped ahead
  int decoder_threads = 0;             // threads of the video decoder as opened
  double decode_ms = 0;          // time spent in the video decoder (send+receive), not waiting
  bool hardware = false;         // NVDEC in use
  std::string video_codec;
  std::string audio_codec;
  int width = 0;
  int height = 0;
  double frame_rate = 0;  // the video's nominal rate (SPS timing info), 0 while unknown
  std::string hw_fallback_reason;  // why 'auto' did not use NVDEC (empty when it did or was not asked)
  // The live MPEG-TS path (media/ts_demuxer.h) is in use, and how its PES were completed.
  bool live_ts = false;
  int64_t pes_by_length = 0;      // PES_packet_length reached
  int64_t pes_by_stuffing = 0;    // the stuffing that ends a PES
  int64_t pes_by_next_start = 0;  // the next PES started (or the input ended): one frame later
  int64_t continuity_errors = 0;
};

class StreamDecoderSink {
 public:
  virtual ~StreamDecoderSink() = default;
  // Each returns false to stop decoding (consumer gone). May block for backpressure.
  virtual bool OnVideo(VideoFramePtr frame) = 0;
  virtual bool OnAudio(AudioFramePtr audio) = 0;
  virtual bool OnAudioPacket(AudioPacketPtr packet) = 0;
  // The byte queue drained: a producer told to wait may push again. Must not block.
  virtual void OnWritable() = 0;
  // Last call, exactly once: error is null on a clean end (EOF or cancel).
  virtual void OnEnd(const NativeError* error) = 0;
};

class StreamDecoder {
 public:
  // Throws NativeException ERR_NVDEC_UNAVAILABLE for kCuda when no NVIDIA driver / NVDEC is present.
  StreamDecoder(const StreamDecoderOptions& options, StreamDecoderSink* sink);
  ~StreamDecoder();  // cancels and joins
  StreamDecoder(const StreamDecoder&) = delete;
  StreamDecoder& operator=(const StreamDecoder&) = delete;

  void Start();
  // Returns false when the producer should wait for OnWritable before pushing more.
  bool Push(const uint8_t* data, size_t size) { return input_.Push(data, size); }
  void End() { input_.End(); }
  void Cancel();
  void Join();
  StreamDecoderStats Stats() const;
  const std::shared_ptr<FramePool>& pool() const { return pool_; }
  bool cancelled() const { return cancelled_.load(); }

 private:
  struct Impl;
  void Run();

  StreamDecoderOptions options_;
  StreamDecoderSink* sink_;
  ByteQueue input_;
  std::shared_ptr<FramePool> pool_;
  std::atomic<bool> cancelled_{false};
  std::thread thread_;
  mutable std::mutex stats_mu_;
  StreamDecoderStats stats_;
  friend struct Impl;
};

}  // namespace trickle
