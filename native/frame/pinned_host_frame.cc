#include "frame/pinned_host_frame.h"

#include <map>
#include <mutex>
#include <tuple>

extern "C" {
#include <libavutil/buffer.h>
#include <libavutil/imgutils.h>
}

#include "cuda/cuda_ops.h"
#include "frame/video_frame.h"

namespace trickle {
namespace {

constexpr int kAlign = 64;
constexpr size_t kMaxPools = 16;  // distinct (size, format, device) in practice: a handful

struct PoolOwner {
  int device = 0;
  AVBufferPool* pool = nullptr;
};

void FreePinnedBuffer(void*, uint8_t* data) { cuda::FreePinned(data); }

AVBufferRef* AllocPinnedBuffer(void* opaque, size_t size) {
  const int device = static_cast<PoolOwner*>(opaque)->device;
  void* p = cuda::HostAllocPinned(size, device);
  if (!p) return nullptr;
  AVBufferRef* ref = av_buffer_create(static_cast<uint8_t*>(p), size, &FreePinnedBuffer, nullptr, 0);
  if (!ref) cuda::FreePinned(p);
  return ref;
}

std::mutex g_mu;
std::map<std::tuple<int, int, int, int>, PoolOwner*>& Pools() {
  static auto* m = new std::map<std::tuple<int, int, int, int>, PoolOwner*>();  // process lifetime
  return *m;
}

}  // namespace

UniqueAVFrame AllocatePinnedHostAVFrame(int width, int height, AVPixelFormat format, int device) {
  const int size = av_image_get_buffer_size(format, width, height, kAlign);
  if (size <= 0 || device < 0) return AllocateHostAVFrame(width, height, format);
  AVBufferRef* buf = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    const auto key = std::make_tuple(width, height, static_cast<int>(format), device);
    auto it = Pools().find(key);
    if (it == Pools().end() && Pools().size() < kMaxPools) {
      auto* owner = new PoolOwner{device, nullptr};
      owner->pool = av_buffer_pool_init2(static_cast<size_t>(size), owner, &AllocPinnedBuffer, nullptr);
      if (owner->pool) it = Pools().emplace(key, owner).first;
      else delete owner;
    }
    if (it != Pools().end()) buf = av_buffer_pool_get(it->second->pool);
  }
  if (!buf) return AllocateHostAVFrame(width, height, format);  // pageable fallback
  UniqueAVFrame f = MakeAVFrame();
  f->width = width;
  f->height = height;
  f->format = format;
  f->buf[0] = buf;
  if (av_image_fill_arrays(f->data, f->linesize, buf->data, format, width, height, kAlign) < 0) {
    return AllocateHostAVFrame(width, height, format);
  }
  return f;
}

}  // namespace trickle
