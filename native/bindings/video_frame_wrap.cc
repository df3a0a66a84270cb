// NativeVideoFrame: the JS handle of a VideoFrame (host or CUDA), and videoFrameFromTensor.
// JS thread only; conversions run as one-shot jobs (promise_worker.h). Ownership: frame_wrap.h.
#include <cstring>

#include "bindings/class_registry.h"
#include "bindings/frame_handle_support.h"
#include "bindings/frame_wrap.h"
#include "bindings/promise_worker.h"
#include "bindings/tensor_wrap.h"
#include "cuda/cuda_ops.h"
#include "frame/frame_scale.h"
#include "frame/tensor_ops.h"

extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}

namespace trickle {
namespace {

struct VideoTag {};

// The ObjectWrap behind NativeVideoFrame handles. JS thread only.
class VideoFrameHandle : public Napi::ObjectWrap<VideoFrameHandle> {
 public:
  explicit VideoFrameHandle(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;
  const VideoFramePtr& Get(Napi::Env env) const;
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsClosed(const Napi::CallbackInfo& info);
  Napi::Value Planes(const Napi::CallbackInfo& info);
  Napi::Value ToTensor(const Napi::CallbackInfo& info);
  Napi::Value Download(const Napi::CallbackInfo& info);
  Napi::Value Scale(const Napi::CallbackInfo& info);
  Napi::Value Upload(const Napi::CallbackInfo& info);
  Napi::Value CudaInterop(const Napi::CallbackInfo& info);

 private:
  VideoFramePtr frame_;
  bool closed_ = false;
};

Napi::Value VideoFrameFromTensorJs(const Napi::CallbackInfo& info);

}  // namespace

// ---- VideoFrameWrap --------------------------------------------------------------------------------

void VideoFrameWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = VideoFrameHandle::DefineClass(env, "NativeVideoFrame",
                                    {
                                        VideoFrameHandle::InstanceMethod<&VideoFrameHandle::Info>("info"),
                                        VideoFrameHandle::InstanceMethod<&VideoFrameHandle::Close>("close"),
                                        VideoFrameHandle::InstanceMethod<&VideoFrameHandle::IsClosed>("isClosed"),
                                        VideoFrameHandle::InstanceMethod<&VideoFrameHandle::Planes>("planes"),
                                        VideoFrameHandle::InstanceMethod<&VideoFrameHandle::ToTensor>("toTensor"),
                                        VideoFrameHandle::InstanceMethod<&VideoFrameHandle::Download>("download"),
                                        VideoFrameHandle::InstanceMethod<&VideoFrameHandle::Scale>("scale"),
                                        VideoFrameHandle::InstanceMethod<&VideoFrameHandle::Upload>("upload"),
                                        VideoFrameHandle::InstanceMethod<&VideoFrameHandle::CudaInterop>("cudaInterop"),
                                    });
  ConstructorRegistry<VideoTag>::Set(env, ctor);
  exports.Set("NativeVideoFrame", ctor);
  exports.Set("videoFrameFromTensor", Napi::Function::New(env, VideoFrameFromTensorJs, "videoFrameFromTensor"));
}

Napi::Object VideoFrameWrap::NewInstance(Napi::Env env, VideoFramePtr frame) {
  if (!frame) throw Napi::Error::New(env, "VideoFrameWrap::NewInstance: null frame");
  Napi::EscapableHandleScope scope(env);
  Napi::Object obj = ConstructorRegistry<VideoTag>::Get(env).New({Napi::External<VideoFramePtr>::New(env, &frame)});
  return scope.Escape(obj).As<Napi::Object>();
}

bool VideoFrameWrap::IsHandle(Napi::Value value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(ConstructorRegistry<VideoTag>::Get(value.Env()));
}

VideoFramePtr VideoFrameWrap::Unwrap(Napi::Value value) {
  Napi::Env env = value.Env();
  if (!IsHandle(value)) ThrowTypeError(env, "expected a VideoFrame");
  return VideoFrameHandle::Unwrap(value.As<Napi::Object>())->Get(env);
}

VideoFrameHandle::VideoFrameHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VideoFrameHandle>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    ThrowTypeError(info.Env(), "VideoFrame handles are created by trickle-rt (decoder, VideoFrame.fromTensor)");
  }
  frame_ = *info[0].As<Napi::External<VideoFramePtr>>().Data();
}

void VideoFrameHandle::Finalize(Napi::Env env) {
  if (closed_ || !frame_) return;
  // Env teardown (process exit, worker termination) is not a leak.
  if (ConstructorRegistry<VideoTag>::ShuttingDown(env)) return;
  if (FramePool* pool = frame_->pool()) pool->CountLeak();
  CountLeakedHandle(LeakedHandle::kVideoFrame);
  frame_.reset();
}

const VideoFramePtr& VideoFrameHandle::Get(Napi::Env env) const {
  if (closed_) ThrowCode(env, "ERR_FRAME_CLOSED", "the VideoFrame was closed");
  return frame_;
}

Napi::Value VideoFrameHandle::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const VideoFramePtr& f = Get(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("width", f->width());
  o.Set("height", f->height());
  o.Set("format", PixelFormatName(f->pixel_format()));
  o.Set("location", f->location() == FrameLocation::kCuda ? "cuda" : "cpu");
  o.Set("device", f->device());
  o.Set("pts", PtsToJs(env, f->pts()));
  o.Set("timeBase", TimeBaseToJs(env, f->time_base()));
  o.Set("keyFrame", f->key_frame());
  return o;
}

Napi::Value VideoFrameHandle::Close(const Napi::CallbackInfo& info) {
  closed_ = true;
  frame_.reset();
  return info.Env().Undefined();
}

Napi::Value VideoFrameHandle::IsClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), closed_); }

// Copies of the planes of a host frame: [{data: Uint8Array, stride, width, height}] with stride =
// bytes per row of the copy (tight: the frame's padding is not copied). A copy into V8 memory, not
// an external buffer, whose finalizer Node would defer until memory piles up under a busy loop.
Napi::Value VideoFrameHandle::Planes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const VideoFramePtr& f = Get(env);
  if (f->location() != FrameLocation::kHost) {
    ThrowCode(env, "ERR_INVALID_ARG", "planes() reads host frames only; call download() first");
  }
  const AVFrame* av = f->av_frame();
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(f->pixel_format());
  if (!desc || (desc->flags & AV_PIX_FMT_FLAG_HWACCEL)) ThrowCode(env, "ERR_INVALID_ARG", "frame has no host planes");
  const int nplanes = av_pix_fmt_count_planes(f->pixel_format());
  Napi::Array out = Napi::Array::New(env, nplanes);
  for (int p = 0; p < nplanes; ++p) {
    const bool chroma = p == 1 || p == 2;
    const int h = chroma ? AV_CEIL_RSHIFT(av->height, desc->log2_chroma_h) : av->height;
    const int row_bytes = av_image_get_linesize(f->pixel_format(), av->width, p);
    int w = av->width;
    if (chroma) w = AV_CEIL_RSHIFT(av->width, desc->log2_chroma_w);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, static_cast<size_t>(row_bytes) * h);
    auto* dst = static_cast<uint8_t*>(ab.Data());
    for (int y = 0; y < h; ++y) std::memcpy(dst + static_cast<size_t>(y) * row_bytes, av->data[p] + static_cast<ptrdiff_t>(y) * av->linesize[p], row_bytes);
    Napi::Object plane = Napi::Object::New(env);
    plane.Set("data", Napi::Uint8Array::New(env, ab.ByteLength(), ab, 0));
    plane.Set("stride", row_bytes);
    plane.Set("width", w);
    plane.Set("height", h);
    out.Set(static_cast<uint32_t>(p), plane);
  }
  return out;
}

namespace {

int IntProp(Napi::Object o, const char* key, int fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

std::string StrProp(Napi::Object o, const char* key, const char* fallback) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : fallback;
}

template <typename T>
void Triple(Napi::Env env, Napi::Object o, const char* key, T* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return;
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 3) ThrowTypeError(env, std::string(key) + " must be an array of 3 numbers");
  for (uint32_t i = 0; i < 3; ++i) {
    Napi::Value e = v.As<Napi::Array>().Get(i);
    if (!e.IsNumber()) ThrowTypeError(env, std::string(key) + " must be an array of 3 numbers");
    out[i] = static_cast<T>(e.As<Napi::Number>().DoubleValue());
  }
}

Napi::Value BigPtr(Napi::Env env, const void* p) {
  return Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)));
}

}  // namespace

// toTensor({layout, dtype, width, height, fit, mean, std, pad}) -> Promise<NativeTensor>. Options are
// validated in TypeScript; this re-checks what memory safety needs.
Napi::Value VideoFrameHandle::ToTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  VideoFramePtr frame = Get(env);
  Napi::Object o = info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  ToTensorOptions opt;
  const std::string layout = StrProp(o, "layout", "nchw");
  if (layout != "nchw" && layout != "nhwc") ThrowTypeError(env, "layout must be nchw or nhwc");
  opt.layout = layout == "nchw" ? kLayoutNchw : kLayoutNhwc;
  opt.dtype = DTypeFromName(env, StrProp(o, "dtype", "float32"));
  opt.width = IntProp(o, "width", 0);
  opt.height = IntProp(o, "height", 0);
  if (opt.width < 0 || opt.height < 0 || opt.width > 16384 || opt.height > 16384) ThrowTypeError(env, "size out of range");
  const std::string fit = StrProp(o, "fit", "stretch");
  if (fit == "stretch") opt.fit = kFitStretch;
  else if (fit == "crop") opt.fit = kFitCrop;
  else if (fit == "letterbox") opt.fit = kFitLetterbox;
  else ThrowTypeError(env, "fit must be stretch, crop or letterbox");
  Triple(env, o, "mean", opt.mean);
  Triple(env, o, "std", opt.stdv);
  int pad[3] = {0, 0, 0};
  Triple(env, o, "pad", pad);
  for (int c = 0; c < 3; ++c) opt.pad[c] = static_cast<uint8_t>(pad[c] < 0 ? 0 : (pad[c] > 255 ? 255 : pad[c]));
  const long out_px = long(opt.width ? opt.width : frame->width()) * (opt.height ? opt.height : frame->height());
  const bool inline_run =
      frame->location() == FrameLocation::kCuda || long(frame->width()) * frame->height() + out_px <= kInlinePixels;
  auto out = std::make_shared<TensorPtr>();
  return PromiseWorker::Start(
      env, "trickle.frame.toTensor", inline_run, [frame, opt, out] { *out = FrameToTensor(*frame, opt); },
      [out](Napi::Env e) -> Napi::Value { return TensorWrap::NewInstance(e, *out); }, {info.This().As<Napi::Object>()});
}

// scale(width, height, fit) -> Promise<NativeVideoFrame>: a yuv420p host frame (frame/frame_scale.h).
Napi::Value VideoFrameHandle::Scale(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  VideoFramePtr frame = Get(env);
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsString()) {
    ThrowTypeError(env, "scale expects (width, height, fit)");
  }
  const int width = info[0].As<Napi::Number>().Int32Value();
  const int height = info[1].As<Napi::Number>().Int32Value();
  const std::string fit_name = info[2].As<Napi::String>().Utf8Value();
  if (fit_name != "crop" && fit_name != "stretch") ThrowTypeError(env, "fit must be crop or stretch");
  const ScaleFit fit = fit_name == "crop" ? ScaleFit::kCrop : ScaleFit::kStretch;
  const bool inline_run = long(frame->width()) * frame->height() + long(width) * height <= kInlinePixels;
  auto out = std::make_shared<VideoFramePtr>();
  return PromiseWorker::Start(
      env, "trickle.frame.scale", inline_run, [frame, width, height, fit, out] { *out = ScaleHostFrame(*frame, width, height, fit); },
      [out](Napi::Env e) -> Napi::Value { return VideoFrameWrap::NewInstance(e, *out); }, {info.This().As<Napi::Object>()});
}

// download() -> Promise<NativeVideoFrame> (a host frame).
Napi::Value VideoFrameHandle::Download(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  VideoFramePtr frame = Get(env);
  auto out = std::make_shared<VideoFramePtr>();
  return PromiseWorker::Start(
      env, "trickle.frame.download", frame->location() == FrameLocation::kHost, [frame, out] { *out = DownloadFrame(*frame); },
      [out](Napi::Env e) -> Napi::Value { return VideoFrameWrap::NewInstance(e, *out); }, {info.This().As<Napi::Object>()});
}

// upload(device) -> Promise<NativeVideoFrame> (a CUDA frame).
Napi::Value VideoFrameHandle::Upload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  VideoFramePtr frame = Get(env);
  const int device = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  auto out = std::make_shared<VideoFramePtr>();
  return PromiseWorker::Start(
      env, "trickle.frame.upload", false, [frame, device, out] { *out = UploadFrame(*frame, device); },
      [out](Napi::Env e) -> Napi::Value { return VideoFrameWrap::NewInstance(e, *out); }, {info.This().As<Napi::Object>()});
}

// cudaInterop() -> {device, ptr, pitch, stream, format, width, height, planes:[{ptr, pitch, width, height}]}.
// The pointers stay valid while this frame is open; work on `stream` (trickle-rt's ops stream of the
// device) is ordered after every trickle-rt op and FFmpeg copy that wrote the frame.
Napi::Value VideoFrameHandle::CudaInterop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const VideoFramePtr& f = Get(env);
  if (f->location() != FrameLocation::kCuda) {
    throw ToJsError(env, NativeError{"ERR_CUDA_UNAVAILABLE", "cudaInterop() needs a CUDA frame; this frame is in host memory", "cudaInterop", 0, false});
  }
  void* stream = nullptr;
  try {
    stream = cuda::OpsStream(f->device());
  } catch (const NativeException& e) {
    throw ToJsError(env, e.error());
  }
  const AVFrame* av = f->av_frame();
  Napi::Object o = Napi::Object::New(env);
  o.Set("device", f->device());
  o.Set("ptr", BigPtr(env, av->data[0]));
  o.Set("pitch", av->linesize[0]);
  o.Set("stream", BigPtr(env, stream));
  o.Set("format", PixelFormatName(f->pixel_format()));
  o.Set("width", f->width());
  o.Set("height", f->height());
  // Planes and their sizes from the pixel format's descriptor (nv12 and p010: 2 planes with
  // interleaved chroma; yuv420p: 3), not a hard-coded list.
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(f->pixel_format());
  const int nplanes = desc ? av_pix_fmt_count_planes(f->pixel_format()) : 1;
  Napi::Array planes = Napi::Array::New(env, nplanes);
  for (int p = 0; p < nplanes; ++p) {
    const bool chroma = p > 0 && desc;
    Napi::Object pl = Napi::Object::New(env);
    pl.Set("ptr", BigPtr(env, av->data[p]));
    pl.Set("pitch", av->linesize[p]);
    pl.Set("width", chroma ? AV_CEIL_RSHIFT(f->width(), desc->log2_chroma_w) : f->width());
    pl.Set("height", chroma ? AV_CEIL_RSHIFT(f->height(), desc->log2_chroma_h) : f->height());
    planes.Set(static_cast<uint32_t>(p), pl);
  }
  o.Set("planes", planes);
  return o;
}

// videoFrameFromTensor(tensor, like | null, {format?, layout?, pool?, pts?, timeBase?}) -> Promise<NativeVideoFrame>.
// The pool slot is taken here, on the JS thread, so that exhaustion is reported synchronously.
namespace {

Napi::Value VideoFrameFromTensorJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) ThrowTypeError(env, "videoFrameFromTensor(tensor, like, options)");
  TensorPtr tensor = TensorWrap::Unwrap(info[0]);
  FromTensorOptions opt;
  std::vector<Napi::Object> pins{info[0].As<Napi::Object>()};
  if (info.Length() > 1 && !info[1].IsNull() && !info[1].IsUndefined()) {
    VideoFramePtr like = VideoFrameWrap::Unwrap(info[1]);
    opt.pts = like->pts();
    opt.time_base = like->time_base();
    opt.key_frame = like->key_frame();
  }
  Napi::Object o = info.Length() > 2 && info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env);
  const std::string format = StrProp(o, "format", "");
  if (!format.empty()) {
    opt.format = PixelFormatFromName(format);
    if (opt.format == AV_PIX_FMT_NONE) ThrowTypeError(env, "format must be nv12, yuv420p, rgb24 or rgba");
  }
  const std::string layout = StrProp(o, "layout", "");
  if (!layout.empty()) opt.layout = layout == "nhwc" ? kLayoutNhwc : kLayoutNchw;
  Napi::Value pts = o.Get("pts");
  if (pts.IsNumber()) opt.pts = pts.As<Napi::Number>().Int64Value();
  Napi::Value tb = o.Get("timeBase");
  if (tb.IsArray() && tb.As<Napi::Array>().Length() == 2) {
    opt.time_base = AVRational{tb.As<Napi::Array>().Get(0u).As<Napi::Number>().Int32Value(),
                               tb.As<Napi::Array>().Get(1u).As<Napi::Number>().Int32Value()};
  }
  Napi::Value pool = o.Get("pool");
  if (!pool.IsUndefined() && !pool.IsNull()) {
    std::shared_ptr<FramePool> p = FramePoolWrap::Unwrap(pool);
    opt.lease = p->TryAcquire();
    if (!opt.lease) {
      FramePoolStats st = p->Stats();
      throw ToJsError(env, NativeError{"ERR_POOL_EXHAUSTED",
                                       "the frame pool is exhausted (" + std::to_string(st.live) + " of " +
                                           std::to_string(st.capacity) + " frames alive): close frames sooner or raise its capacity",
                                       "FramePool.TryAcquire", 0, false});
    }
    pins.push_back(pool.As<Napi::Object>());
  }
  long px = 1;
  for (int64_t d : tensor->shape) px *= d > 0 ? d : 1;
  px /= 3;
  const bool inline_run = tensor->location() == TensorLocation::kCuda || px <= kInlinePixels;
  auto out = std::make_shared<VideoFramePtr>();
  return PromiseWorker::Start(
      env, "trickle.frame.fromTensor", inline_run, [tensor, opt, out] { *out = FrameFromTensor(*tensor, opt); },
      [out](Napi::Env e) -> Napi::Value { return VideoFrameWrap::NewInstance(e, *out); }, pins);
}

}  // namespace

}  // namespace trickle
