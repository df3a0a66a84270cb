// Frame <-> tensor operations and host/device transfers. No N-API. Each op has a CPU
// implementation (plain loops over frame/tensor_math.h) and a CUDA kernel with the same per-pixel
// code (cuda/tensor_kernels.cu); the frame's or tensor's location picks the path.
//
// Threading: every function may run on any thread (the bindings run CPU work on a worker thread for
// large pictures). Inputs are immutable shared objects; outputs are new objects. CUDA work is
// enqueued on the device's ops stream (cuda/cuda_ops.h) and returns without waiting, except the
// functions that produce host memory from device memory, which wait on an event (worker threads).
#pragma once

#include <cstdint>
#include <memory>

#include "frame/tensor.h"
#include "frame/tensor_math.h"
#include "frame/video_frame.h"

namespace trickle {

struct ToTensorOptions {
  int layout = kLayoutNchw;       // kLayoutNchw -> [1,3,H,W], kLayoutNhwc -> [1,H,W,3]
  DType dtype = DType::kFloat32;
  int width = 0, height = 0;      // output size; 0 = the frame's
  int fit = kFitStretch;          // kFitStretch | kFitCrop | kFitLetterbox
  float mean[3] = {0.f, 0.f, 0.f};  // float dtypes only: (v/255 - mean) / std
  float stdv[3] = {1.f, 1.f, 1.f};
  uint8_t pad[3] = {0, 0, 0};     // letterbox padding, as uint8 RGB before normalisation
};

// Throws NativeException ERR_INVALID_ARG for unsupported formats/sizes, ERR_CUDA_UNAVAILABLE for
// a CUDA frame in a build without CUDA.
TensorPtr FrameToTensor(const VideoFrame& frame, const ToTensorOptions& options);

struct FromTensorOptions {
  AVPixelFormat format = AV_PIX_FMT_NONE;  // default: yuv420p for host tensors, nv12 for CUDA tensors
  int layout = -1;                         // -1: inferred from the shape (see ParseRgbTensorShape)
  int64_t pts = AV_NOPTS_VALUE;
  AVRational time_base{1, 90000};
  bool key_frame = false;
  std::shared_ptr<FramePoolLease> lease;   // pool slot the new frame holds (may be null)
};

// An RGB tensor ([1,3,H,W], [3,H,W], [1,H,W,3] or [H,W,3]; uint8, or float/half in [0,1]) to a new
// frame in the tensor's location. yuv420p/nv12 need even width and height.
VideoFramePtr FrameFromTensor(const Tensor& tensor, const FromTensorOptions& options);

// Layout and size of an RGB tensor; throws ERR_INVALID_ARG when the shape is not an RGB image or
// is ambiguous without `layout_hint` (e.g. [1,3,H,3]).
struct RgbTensorShape {
  int layout;
  int width, height;
};
RgbTensorShape ParseRgbTensorShape(const std::vector<int64_t>& shape, int layout_hint);

// A host frame with the same pixels (CUDA: one device->host copy; host: shares the immutable
// buffers, no copy).
VideoFramePtr DownloadFrame(const VideoFrame& frame);
// A CUDA frame on `device` with the same pixels (one host->device copy). nv12 / yuv420p only.
VideoFramePtr UploadFrame(const VideoFrame& frame, int device);

// Host copy of a tensor (CUDA: one device->host copy, waits for it; host: returns the same storage).
TensorPtr TensorToHost(const TensorPtr& tensor);
// Device copy of a host tensor (one host->device copy, enqueued; ready_event set).
TensorPtr TensorToDevice(const TensorPtr& tensor, int device);

}  // namespace trickle
