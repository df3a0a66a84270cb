#include "frame/cuda_device.h"

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "common/cuda_primary_context.h"

extern "C" {
#include <libavutil/dict.h>
#include <libavutil/hwcontext.h>
}

namespace trickle {
namespace {

std::mutex g_mu;

std::map<int, AVBufferRef*>& Devices() {
  static auto* m = new std::map<int, AVBufferRef*>();  // process lifetime (no teardown ordering issues)
  return *m;
}

std::map<std::tuple<int, int, int, int>, AVBufferRef*>& FrameContexts() {
  static auto* m = new std::map<std::tuple<int, int, int, int>, AVBufferRef*>();
  return *m;
}

AVBufferRef* DeviceLocked(int device) {
  auto it = Devices().find(device);
  if (it != Devices().end()) return it->second;
  if (device < 0 || device > 255) throw NativeException("ERR_INVALID_ARG", "CUDA device index out of range", "CudaHwDeviceRef");
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "primary_ctx", "1", 0);
  AVBufferRef* ref = nullptr;
  const std::string name = std::to_string(device);
  int ret = 0;
  {
    // One owner of the primary context (common/cuda_primary_context.h): its flags are set before
    // FFmpeg retains it, under the same lock as every other retain in trickle-rt.
    std::lock_guard<std::mutex> ctx_lock(PrimaryContextLock());
    try {
      PreparePrimaryContextLocked(device);
    } catch (...) {
      av_dict_free(&opts);
      throw;
    }
    ret = av_hwdevice_ctx_create(&ref, AV_HWDEVICE_TYPE_CUDA, name.c_str(), opts, 0);
  }
  av_dict_free(&opts);
  if (ret < 0) {
    throw NativeException("ERR_CUDA_UNAVAILABLE",
                          "cannot open CUDA device " + name + " (" + AvErrorString(ret) +
                              "): no NVIDIA driver, no such device, or its primary context was created with "
                              "incompatible flags",
                          "av_hwdevice_ctx_create", ret);
  }
  reinterpret_cast<AVHWDeviceContext*>(ref->data)->user_opaque = reinterpret_cast<void*>(static_cast<intptr_t>(device) + 1);
  Devices()[device] = ref;
  return ref;
}

}  // namespace

UniqueAVBufferRef CudaHwDeviceRef(int device) {
  std::lock_guard<std::mutex> lock(g_mu);
  UniqueAVBufferRef r(av_buffer_ref(DeviceLocked(device)));
  if (!r) throw NativeException("ERR_OUT_OF_MEMORY", "av_buffer_ref failed", "av_buffer_ref");
  return r;
}

UniqueAVBufferRef CudaHwFramesRef(int device, int width, int height, AVPixelFormat sw_format) {
  std::lock_guard<std::mutex> lock(g_mu);
  const auto key = std::make_tuple(device, width, height, static_cast<int>(sw_format));
  auto it = FrameContexts().find(key);
  if (it == FrameContexts().end()) {
    AVBufferRef* dev = DeviceLocked(device);
    UniqueAVBufferRef frames(av_hwframe_ctx_alloc(dev));
    if (!frames) throw NativeException("ERR_OUT_OF_MEMORY", "av_hwframe_ctx_alloc failed", "av_hwframe_ctx_alloc");
    auto* fc = reinterpret_cast<AVHWFramesContext*>(frames->data);
    fc->format = AV_PIX_FMT_CUDA;
    fc->sw_format = sw_format;
    fc->width = width;
    fc->height = height;
    fc->initial_pool_size = 0;  // grows on demand; buffers are recycled through FFmpeg's buffer pool
    ThrowIfAvError(av_hwframe_ctx_init(frames.get()), "ERR_CUDA", "av_hwframe_ctx_init");
    // A handful of sizes per process in practice; keep the cache bounded anyway.
    if (FrameContexts().size() >= 32) {
      for (auto& kv : FrameContexts()) av_buffer_unref(&kv.second);
      FrameContexts().clear();
    }
    it = FrameContexts().emplace(key, frames.release()).first;
  }
  UniqueAVBufferRef r(av_buffer_ref(it->second));
  if (!r) throw NativeException("ERR_OUT_OF_MEMORY", "av_buffer_ref failed", "av_buffer_ref");
  return r;
}

}  // namespace trickle
