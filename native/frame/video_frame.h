// Core frame types shared by the decoder, the encoder, the tensor ops and the bindings. No N-API.
//
// Ownership: a VideoFrame owns one AVFrame (host planes, or a CUDA hw frame with hw_frames_ctx)
// and one slot (lease) of its stream's FramePool. It is always held through
// std::shared_ptr<VideoFrame>: the JS handle holds one reference, an in-flight job (encoder,
// inference, download) holds another. JS `close()` drops only the JS reference; the picture and
// its pool slot are released when the last holder lets go. Immutable after construction, so it
// may be read from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/ffmpeg_handles.h"

extern "C" {
#include <libavutil/pixfmt.h>
#include <libavutil/rational.h>
}

namespace trickle {

enum class FrameLocation { kHost, kCuda };

struct FramePoolStats {
  int capacity = 0;
  int live = 0;     // slots held by frames that are still referenced
  int free = 0;     // capacity - live
  long leaked = 0;  // frames garbage-collected without close() (counted by the JS wrapper's finalizer)
  long acquired_total = 0;
};

class FramePool;

// One slot of a FramePool. Releasing it (destruction) frees the slot and wakes a waiting producer.
class FramePoolLease {
 public:
  explicit FramePoolLease(std::shared_ptr<FramePool> pool) : pool_(std::move(pool)) {}
  ~FramePoolLease();
  FramePoolLease(const FramePoolLease&) = delete;
  FramePoolLease& operator=(const FramePoolLease&) = delete;
  FramePool* pool() const { return pool_.get(); }

 private:
  std::shared_ptr<FramePool> pool_;
};

// A bounded count of frames a stream may have alive at once. Producers (the decode thread) block in
// Acquire() when it is exhausted: that is the backpressure that bounds memory per stream.
// Thread-safe.
class FramePool : public std::enable_shared_from_this<FramePool> {
 public:
  static std::shared_ptr<FramePool> Create(int capacity) {
    return std::shared_ptr<FramePool>(new FramePool(capacity));
  }
  // Blocks until a slot is free or `cancelled()` returns true (checked whenever the pool is
  // notified; call Notify() after setting the cancel condition). Returns nullptr when cancelled.
  std::shared_ptr<FramePoolLease> Acquire(const std::function<bool()>& cancelled);
  // Non-blocking: nullptr when exhausted.
  std::shared_ptr<FramePoolLease> TryAcquire();
  void Notify();
  void CountLeak();
  FramePoolStats Stats() const;
  int capacity() const { return capacity_; }

 private:
  friend class FramePoolLease;
  explicit FramePool(int capacity) : capacity_(capacity) {}
  void Release();

  const int capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int live_ = 0;
  long leaked_ = 0;
  long acquired_total_ = 0;
};

class VideoFrame {
 public:
  // `frame` is a host frame (format = a software pixel format) or a CUDA frame (format
  // AV_PIX_FMT_CUDA, hw_frames_ctx set, sw_format from the frames context). `lease` may be null for
  // frames not counted by a pool (e.g. built by the user from a tensor).
  VideoFrame(UniqueAVFrame frame, AVRational time_base, std::shared_ptr<FramePoolLease> lease);
  ~VideoFrame();
  VideoFrame(const VideoFrame&) = delete;
  VideoFrame& operator=(const VideoFrame&) = delete;

  int width() const { return frame_->width; }
  int height() const { return frame_->height; }
  FrameLocation location() const { return location_; }
  // The layout of the pixel data: for host frames the AVFrame format, for CUDA frames the
  // frames context's sw_format (NV12 for 8-bit NVDEC output).
  AVPixelFormat pixel_format() const { return pixel_format_; }
  int device() const { return device_; }  // CUDA device index, -1 for host frames
  int64_t pts() const { return frame_->pts; }
  AVRational time_base() const { return time_base_; }
  bool key_frame() const;
  const AVFrame* av_frame() const { return frame_.get(); }
  // The pool slot this frame holds (null when not pooled).
  FramePool* pool() const { return lease_ ? lease_->pool() : nullptr; }
  // The pool slot itself, for a frame that shares this frame's buffers (e.g. download() of a host
  // frame): the slot stays held while either frame is alive.
  const std::shared_ptr<FramePoolLease>& lease() const { return lease_; }

  // Number of VideoFrame objects alive in the process (all streams, all pools).
  static long alive();

 private:
  UniqueAVFrame frame_;
  AVRational time_base_;
  std::shared_ptr<FramePoolLease> lease_;
  FrameLocation location_;
  AVPixelFormat pixel_format_;
  int device_ = -1;
};

using VideoFramePtr = std::shared_ptr<const VideoFrame>;

// A host AVFrame of `format` with freshly allocated (uninitialised) planes, to be filled by its
// creator before it is wrapped into a VideoFrame. Throws ERR_OUT_OF_MEMORY / ERR_INVALID_ARG.
UniqueAVFrame AllocateHostAVFrame(int width, int height, AVPixelFormat format);

// "nv12" | "yuv420p" | "rgb24" | "rgba" for the formats the tensor ops understand, otherwise FFmpeg's
// name of the format (e.g. "yuvj420p"), "unknown" when it has none.
const char* PixelFormatName(AVPixelFormat format);
// The inverse for the four names above; AV_PIX_FMT_NONE otherwise.
AVPixelFormat PixelFormatFromName(const std::string& name);

}  // namespace trickle
