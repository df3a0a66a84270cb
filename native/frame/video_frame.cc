#include "frame/video_frame.h"

extern "C" {
#include <libavutil/hwcontext.h>
}

namespace trickle {

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
