#include "frame/video_frame.h"

extern "C" {
#include <libavutil/hwcontext.h>
}

#include <atomic>

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace trickle {
namespace {
std::atomic<long> g_video_alive{0};
}

long VideoFrame::alive() { return g_video_alive.load(std::memory_order_relaxed); }

VideoFrame::~VideoFrame() { g_video_alive.fetch_sub(1, std::memory_order_relaxed); }

UniqueAVFrame AllocateHostAVFrame(int width, int height, AVPixelFormat format) {
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
    throw NativeException("ERR_INVALID_ARG", "frame size must be within 1..16384", "AllocateHostAVFrame");
  }
  UniqueAVFrame f = MakeAVFrame();
  f->width = width;
  f->height = height;
  f->format = format;
  ThrowIfAvError(av_frame_get_buffer(f.get(), 0), "ERR_OUT_OF_MEMORY", "av_frame_get_buffer");
  return f;
}

const char* PixelFormatName(AVPixelFormat format) {
  switch (format) {
    case AV_PIX_FMT_NV12: return "nv12";
    case AV_PIX_FMT_YUV420P: return "yuv420p";
    case AV_PIX_FMT_RGB24: return "rgb24";
    case AV_PIX_FMT_RGBA: return "rgba";
    default: {
      const char* n = av_get_pix_fmt_name(format);
      return n ? n : "unknown";
    }
  }
}

AVPixelFormat PixelFormatFromName(const std::string& name) {
  if (name == "nv12") return AV_PIX_FMT_NV12;
  if (name == "yuv420p") return AV_PIX_FMT_YUV420P;
  if (name == "rgb24") return AV_PIX_FMT_RGB24;
  if (name == "rgba") return AV_PIX_FMT_RGBA;
  return AV_PIX_FMT_NONE;
}

FramePoolLease::~FramePoolLease() { pool_->Release(); }

std::shared_ptr<FramePoolLease> FramePool::Acquire(const std::function<bool()>& cancelled) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return live_ < capacity_ || cancelled(); });
  if (live_ >= capacity_) return nullptr;
  ++live_;
  ++acquired_total_;
  lock.unlock();
  return std::make_shared<FramePoolLease>(shared_from_this());
}

std::shared_ptr<FramePoolLease> FramePool::TryAcquire() {
  std::unique_lock<std::mutex> lock(mu_);
  if (live_ >= capacity_) return nullptr;
  ++live_;
  ++acquired_total_;
  lock.unlock();
  return std::make_shared<FramePoolLease>(shared_from_this());
}

void FramePool::Notify() {
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

void FramePool::Release() {
  std::lock_guard<std::mutex> lock(mu_);
  --live_;
  cv_.notify_all();
}

void FramePool::CountLeak() {
  std::lock_guard<std::mutex> lock(mu_);
  ++leaked_;
}

FramePoolStats FramePool::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  FramePoolStats s;
  s.capacity = capacity_;
  s.live = live_;
  s.free = capacity_ - live_;
  s.leaked = leaked_;
  s.acquired_total = acquired_total_;
  return s;
}

VideoFrame::VideoFrame(UniqueAVFrame frame, AVRational time_base, std::shared_ptr<FramePoolLease> lease)
    : frame_(std::move(frame)), time_base_(time_base), lease_(std::move(lease)) {
  g_video_alive.fetch_add(1, std::memory_order_relaxed);
  if (frame_->format == AV_PIX_FMT_CUDA && frame_->hw_frames_ctx) {
    location_ = FrameLocation::kCuda;
    auto* frames_ctx = reinterpret_cast<AVHWFramesContext*>(frame_->hw_frames_ctx->data);
    pixel_format_ = frames_ctx->sw_format;
    // The device index is recorded by whoever created the CUDA device context (decoder) in the
    // device context's user_opaque; -1 when unknown.
    device_ = frames_ctx->device_ctx && frames_ctx->device_ctx->user_opaque
                  ? static_cast<int>(reinterpret_cast<intptr_t>(frames_ctx->device_ctx->user_opaque)) - 1
                  : 0;
  } else {
    location_ = FrameLocation::kHost;
    pixel_format_ = static_cast<AVPixelFormat>(frame_->format);
  }
}

bool VideoFrame::key_frame() const {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 7, 100)
  return (frame_->flags & AV_FRAME_FLAG_KEY) != 0;
#else
  return frame_->key_frame != 0;
#endif
}

}  // namespace trickle
