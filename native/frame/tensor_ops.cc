#include "frame/tensor_ops.h"

#include <cstring>
#include <string>

#include "cuda/cuda_ops.h"
#include "cuda/kernels.h"
#include "frame/color_spec.h"
#include "frame/copy_counters.h"
#include "frame/pinned_host_frame.h"
#include "frame/cuda_device.h"

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
}

namespace trickle {
namespace {

[[noreturn]] void Invalid(const std::string& message, const char* op) { throw NativeException("ERR_INVALID_ARG", message, op); }

int FormatCode(AVPixelFormat f) {
  switch (f) {
    case AV_PIX_FMT_NV12: return kFmtNv12;
    case AV_PIX_FMT_YUV420P:
    case AV_PIX_FMT_YUVJ420P: return kFmtYuv420p;  // full range: told by the frame's colour code
    case AV_PIX_FMT_RGB24: return kFmtRgb24;
    case AV_PIX_FMT_RGBA: return kFmtRgba;
    default: return -1;
  }
}

int DtCode(DType t) { return t == DType::kUint8 ? kDtU8 : (t == DType::kFloat16 ? kDtF16 : kDtF32); }

PictureView ViewOf(const AVFrame* f, AVPixelFormat fmt, const char* op) {
  const int code = FormatCode(fmt);
  if (code < 0) {
    Invalid(std::string("pixel format ") + PixelFormatName(fmt) + " is not supported (nv12, yuv420p, yuvj420p, rgb24, rgba)", op);
  }
  // Matrix and range from the frame's own tags (frame/color_spec.h), for the CPU loop and the kernel alike.
  const int color = YuvColorFor(f->colorspace, f->color_range, fmt);
  return PictureView{code, color, f->width, f->height, f->data[0], f->linesize[0], f->data[1], f->linesize[1],
                     f->data[2], f->linesize[2]};
}

void CopyProps(AVFrame* dst, const VideoFrame& src) {
  dst->pts = src.pts();
  dst->pict_type = src.av_frame()->pict_type;
  // The colour tags decide the YUV -> RGB conversion of a later toTensor: a copy keeps them.
  dst->color_range = src.av_frame()->color_range;
  dst->colorspace = src.av_frame()->colorspace;
  dst->color_primaries = src.av_frame()->color_primaries;
  dst->color_trc = src.av_frame()->color_trc;
  dst->chroma_location = src.av_frame()->chroma_location;
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 7, 100)
  dst->flags = src.av_frame()->flags;
#else
  dst->key_frame = src.av_frame()->key_frame;
#endif
}

size_t PictureBytes(AVPixelFormat fmt, int w, int h) {
  const int n = av_image_get_buffer_size(fmt, w, h, 1);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

}  // namespace

RgbTensorShape ParseRgbTensorShape(const std::vector<int64_t>& s, int hint) {
  const size_t r = s.size();
  if (r != 3 && r != 4) Invalid("an RGB image tensor has rank 3 or 4", "fromTensor");
  if (r == 4 && s[0] != 1) Invalid("an RGB image tensor has batch size 1", "fromTensor");
  const size_t o = r - 3;  // offset of the first image dimension
  const bool nchw = s[o] == 3, nhwc = s[o + 2] == 3;
  int layout = hint;
  if (layout < 0) {
    if (nchw && nhwc) Invalid("the tensor shape is ambiguous (3 in both channel positions): pass a layout", "fromTensor");
    if (!nchw && !nhwc) Invalid("the tensor has no dimension of 3 RGB channels", "fromTensor");
    layout = nchw ? kLayoutNchw : kLayoutNhwc;
  }
  if ((layout == kLayoutNchw && !nchw) || (layout == kLayoutNhwc && !nhwc)) {
    Invalid("the tensor shape does not have 3 channels in the given layout", "fromTensor");
  }
  RgbTensorShape out;
  out.layout = layout;
  out.height = static_cast<int>(layout == kLayoutNchw ? s[o + 1] : s[o]);
  out.width = static_cast<int>(layout == kLayoutNchw ? s[o + 2] : s[o + 1]);
  const int64_t h = layout == kLayoutNchw ? s[o + 1] : s[o];
  const int64_t w = layout == kLayoutNchw ? s[o + 2] : s[o + 1];
  if (h < 1 || w < 1 || h > 16384 || w > 16384) Invalid("image size must be within 1..16384", "fromTensor");
  return out;
}

TensorPtr FrameToTensor(const VideoFrame& frame, const ToTensorOptions& o) {
  const int dw = o.width > 0 ? o.width : frame.width();
  const int dh = o.height > 0 ? o.height : frame.height();
  if (dw > 16384 || dh > 16384) Invalid("output size must be within 1..16384", "toTensor");
  ToTensorParams p{};
  p.src = ViewOf(frame.av_frame(), frame.pixel_format(), "toTensor");
  p.geo = MakeResizeGeometry(frame.width(), frame.height(), dw, dh, o.fit);
  p.layout = o.layout;
  p.dtype = DtCode(o.dtype);
  for (int c = 0; c < 3; ++c) {
    p.mean[c] = o.mean[c];
    p.stdv[c] = o.stdv[c];
    p.pad[c] = o.pad[c];
  }
  auto t = std::make_shared<Tensor>();
  t->shape = o.layout == kLayoutNchw ? std::vector<int64_t>{1, 3, dh, dw} : std::vector<int64_t>{1, dh, dw, 3};
  t->dtype = o.dtype;
  if (frame.location() == FrameLocation::kHost) {
    t->storage = TensorStorage::AllocateHost(t->bytes());
    p.out = t->data();
    for (int y = 0; y < dh; ++y) {
      for (int x = 0; x < dw; ++x) ToTensorPixel(p, x, y);
    }
    return t;
  }
  const int device = frame.device() >= 0 ? frame.device() : 0;
  void* stream = cuda::OpsStream(device);
  t->storage = TensorStorage::AllocateCuda(t->bytes(), device);
  p.out = t->data();
  // Reads the decoded surface on the ops stream: ordered after FFmpeg's copies into it by the
  // legacy-default-stream rule (cuda_ops.h), so no wait is needed here.
  cuda::CheckLaunch(cuda::ToTensor(p, stream), "ToTensor kernel launch");
  t->ready_event = cuda::RecordEvent(device, stream);
  return t;
}

VideoFramePtr FrameFromTensor(const Tensor& t, const FromTensorOptions& o) {
  const RgbTensorShape shape = ParseRgbTensorShape(t.shape, o.layout);
  if (t.storage == nullptr || t.storage->bytes() < t.byte_offset + t.bytes()) Invalid("tensor storage too small", "fromTensor");
  const bool on_cuda = t.location() == TensorLocation::kCuda;
  AVPixelFormat fmt = o.format != AV_PIX_FMT_NONE ? o.format : (on_cuda ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P);
  const int code = FormatCode(fmt);
  if (code < 0) Invalid("fromTensor makes nv12, yuv420p, rgb24 or rgba frames", "fromTensor");
  if (on_cuda && code != kFmtNv12 && code != kFmtYuv420p) Invalid("CUDA frames are nv12 or yuv420p", "fromTensor");
  if ((code == kFmtNv12 || code == kFmtYuv420p) && ((shape.width & 1) || (shape.height & 1))) {
    Invalid("4:2:0 frames need an even width and height", "fromTensor");
  }
  FromTensorParams p{};
  p.in = t.data();
  p.layout = shape.layout;
  p.dtype = DtCode(t.dtype);
  p.width = shape.width;
  p.height = shape.height;

  UniqueAVFrame f;
  if (!on_cuda) {
    f = AllocateHostAVFrame(shape.width, shape.height, fmt);
    p.dst = ViewOf(f.get(), fmt, "fromTensor");
    const int bw = (shape.width + 1) / 2, bh = (shape.height + 1) / 2;
    for (int by = 0; by < bh; ++by) {
      for (int bx = 0; bx < bw; ++bx) FromTensorBlock(p, bx, by);
    }
  } else {
    const int device = t.device();
    void* stream = cuda::OpsStream(device);
    UniqueAVBufferRef frames = CudaHwFramesRef(device, shape.width, shape.height, fmt);
    f = MakeAVFrame();
    ThrowIfAvError(av_hwframe_get_buffer(frames.get(), f.get(), 0), "ERR_OUT_OF_MEMORY", "av_hwframe_get_buffer");
    p.dst = PictureView{code, kYuvBt601Limited, shape.width, shape.height, f->data[0], f->linesize[0], f->data[1], f->linesize[1],
                        f->data[2], f->linesize[2]};
    // The tensor may come from another stream (TensorRT): wait for its producer on the GPU.
    if (t.ready_event) cuda::StreamWaitEvent(stream, t.ready_event.get());
    cuda::CheckLaunch(cuda::FromTensor(p, stream), "FromTensor kernel launch");
  }
  f->pts = o.pts;
  // fromTensor writes BT.601 limited range (tensor_math.h RgbToY/U/V); the tags say so.
  if (code == kFmtNv12 || code == kFmtYuv420p) {
    f->color_range = AVCOL_RANGE_MPEG;
    f->colorspace = AVCOL_SPC_SMPTE170M;
  }
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 7, 100)
  if (o.key_frame) f->flags |= AV_FRAME_FLAG_KEY;
#else
  f->key_frame = o.key_frame ? 1 : 0;
#endif
  return std::make_shared<const VideoFrame>(std::move(f), o.time_base, o.lease);
}

VideoFramePtr DownloadFrame(const VideoFrame& frame) {
  if (frame.location() == FrameLocation::kHost) {
    UniqueAVFrame f = MakeAVFrame();
    ThrowIfAvError(av_frame_ref(f.get(), frame.av_frame()), "ERR_OUT_OF_MEMORY", "av_frame_ref");
    return std::make_shared<const VideoFrame>(std::move(f), frame.time_base(), frame.lease());
  }
  // Into pinned host memory from a reused pool (frame/pinned_host_frame.h): one DMA, no staging.
  UniqueAVFrame f = AllocatePinnedHostAVFrame(frame.width(), frame.height(), frame.pixel_format(),
                                              frame.device() >= 0 ? frame.device() : 0);
  // Synchronous on FFmpeg's (legacy default) stream, which waits for the ops stream's prior work.
  ThrowIfAvError(av_hwframe_transfer_data(f.get(), frame.av_frame(), 0), "ERR_CUDA", "av_hwframe_transfer_data");
  CopyProps(f.get(), frame);
  CountCopy(CopyKind::kDeviceToHost, PictureBytes(frame.pixel_format(), frame.width(), frame.height()));
  return std::make_shared<const VideoFrame>(std::move(f), frame.time_base(), nullptr);
}

VideoFramePtr UploadFrame(const VideoFrame& frame, int device) {
  if (frame.location() != FrameLocation::kHost) Invalid("upload() takes a host frame", "upload");
  const AVPixelFormat fmt = frame.pixel_format();
  if (fmt != AV_PIX_FMT_NV12 && fmt != AV_PIX_FMT_YUV420P) Invalid("upload() takes nv12 or yuv420p frames", "upload");
  cuda::OpsStream(device);  // ERR_CUDA_UNAVAILABLE without CUDA; also sets up the shared primary context
  UniqueAVBufferRef frames = CudaHwFramesRef(device, frame.width(), frame.height(), fmt);
  UniqueAVFrame f = MakeAVFrame();
  ThrowIfAvError(av_hwframe_get_buffer(frames.get(), f.get(), 0), "ERR_OUT_OF_MEMORY", "av_hwframe_get_buffer");
  ThrowIfAvError(av_hwframe_transfer_data(f.get(), frame.av_frame(), 0), "ERR_CUDA", "av_hwframe_transfer_data");
  CopyProps(f.get(), frame);
  CountCopy(CopyKind::kHostToDevice, PictureBytes(fmt, frame.width(), frame.height()));
  return std::make_shared<const VideoFrame>(std::move(f), frame.time_base(), nullptr);
}

TensorPtr TensorToHost(const TensorPtr& t) {
  if (t->location() == TensorLocation::kHost) return t;
  const int device = t->device();
  void* stream = cuda::OpsStream(device);
  auto out = std::make_shared<Tensor>();
  out->shape = t->shape;
  out->dtype = t->dtype;
  out->storage = TensorStorage::AllocateHost(t->bytes());
  if (t->ready_event) cuda::StreamWaitEvent(stream, t->ready_event.get());
  cuda::MemcpyAsync(out->data(), t->data(), t->bytes(), cuda::CopyDir::kDeviceToHost, stream);
  auto done = cuda::RecordEvent(device, stream);
  cuda::SynchronizeEvent(done.get());  // worker thread: waits for this copy only, not the device
  CountCopy(CopyKind::kDeviceToHost, t->bytes());
  return out;
}

TensorPtr TensorToDevice(const TensorPtr& t, int device) {
  if (t->location() == TensorLocation::kCuda && t->device() == device) return t;
  if (t->location() == TensorLocation::kCuda) Invalid("copies between CUDA devices are not supported", "toDevice");
  void* stream = cuda::OpsStream(device);
  auto out = std::make_shared<Tensor>();
  out->shape = t->shape;
  out->dtype = t->dtype;
  out->storage = TensorStorage::AllocateCuda(t->bytes(), device);
  // Pageable source: cudaMemcpyAsync returns once the bytes are staged, so `t` may go away after.
  cuda::MemcpyAsync(out->data(), t->data(), t->bytes(), cuda::CopyDir::kHostToDevice, stream);
  out->ready_event = cuda::RecordEvent(device, stream);
  CountCopy(CopyKind::kHostToDevice, t->bytes());
  return out;
}

}  // namespace trickle
